"""Log formatting: plain text for people (the default), one JSON object per line for machines
(LOG_FORMAT=json). The pipeline's context fields (batch_id, image_id, task) and the Celery task
that is running become top-level JSON keys."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

CONTEXT_FIELDS = ("batch_id", "image_id", "task")


def _celery_task() -> dict[str, str]:
    """The running Celery task's name and id, when this line is logged inside one."""
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a dependency
        return {}
    request = getattr(current_task, "request", None)
    task_id = getattr(request, "id", None)
    if not task_id:
        return {}
    return {"celery_task": current_task.name, "celery_task_id": task_id}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        entry.update(_celery_task())
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                entry[name] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for the chosen format."""
    formatter = "json" if log_format.strip().lower() == "json" else "plain"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "inspection.observability.logging.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": formatter}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"ultralytics": {"level": "WARNING"}},
    }
