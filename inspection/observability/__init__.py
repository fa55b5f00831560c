"""Operations: Prometheus metrics, health and readiness checks, structured logging.

Metric definitions live in `metrics`; the pipeline calls the small `record_*` hooks there and
never touches prometheus_client itself.
"""
