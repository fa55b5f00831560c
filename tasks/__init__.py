"""Celery tasks: thin wrappers around the services in `inspection.pipeline`."""
