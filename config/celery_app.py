"""The Celery app: broker, queues, reliability settings and the periodic sweeper."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("inspection")
app.config_from_object("config.celery_config")
app.autodiscover_tasks(["tasks"], related_name="pipeline")
app.autodiscover_tasks(["tasks"], related_name="review")
app.autodiscover_tasks(["tasks"], related_name="webhooks")
app.autodiscover_tasks(["tasks"], related_name="learning")
