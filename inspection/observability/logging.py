"""Log formatting: plain text for people (the default), one JSON object per line for machines
(LOG_FORMAT=json). The pipeline's context fields (batch_id, image_id, task) and the Celery task
that is running become top-level JSON keys; gunicorn's access lines carry the request as `http`.

With LOG_FORMAT=json every line a process prints is JSON: Django's LOGGING for our code and
libraries, `gunicorn_logconfig` for gunicorn's own error and access logs, Python warnings through
the `py.warnings` logger (`capture_warnings`), and for Celery workers `celery_hooks` (no text
banner, stdout and stderr through the log, shutdown notices as JSON).
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

CONTEXT_FIELDS = ("batch_id", "image_id", "task")
JSON_FORMATTER = "inspection.observability.logging.JsonFormatter"
ACCESS_FORMATTER = "inspection.observability.logging.AccessJsonFormatter"
# gunicorn's access-log atoms (see its `access_log_format`) and the keys they get in `http`.
ACCESS_FIELDS = {
    "m": "method",
    "U": "path",
    "q": "query",
    "s": "status",
    "B": "bytes",
    "D": "duration_us",
    "h": "remote_addr",
    "a": "user_agent",
}


def is_json(log_format: str) -> bool:
    return log_format.strip().lower() == "json"


def _celery_task() -> dict[str, str]:
    """The running Celery task's name and id, when this line is logged inside one."""
    try:
        from celery import current_task

        request = getattr(current_task, "request", None)
        task_id = getattr(request, "id", None)
        name = current_task.name if task_id else ""
    except Exception:  # e.g. at interpreter exit, when Celery's task stack is gone: no task
        return {}
    return {"celery_task": name, "celery_task_id": task_id} if task_id else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.entry(record), default=str)

    def entry(self, record: logging.LogRecord) -> dict[str, Any]:
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
        return entry


class AccessJsonFormatter(JsonFormatter):
    """gunicorn's access lines: the usual message, plus the request's fields under `http`."""

    def entry(self, record: logging.LogRecord) -> dict[str, Any]:
        entry = super().entry(record)
        if isinstance(record.args, Mapping):
            atoms = record.args
            entry["http"] = {key: atoms.get(atom) for atom, key in ACCESS_FIELDS.items()}
        return entry


def json_line(logger: str, message: str, level: int = logging.INFO) -> str:
    """One JSON log line for text that bypasses logging (see `celery_hooks`)."""
    record = logging.LogRecord(logger, level, __file__, 0, message, None, None)
    return JsonFormatter().format(record)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for the chosen format."""
    console: dict[str, Any] = {"class": "logging.StreamHandler", "formatter": "plain"}
    if is_json(log_format):
        # The real stderr, always: a Celery worker replaces sys.stderr with a proxy that logs
        # (`celery_hooks`), and a handler writing to that proxy would log to itself.
        console = {**console, "formatter": "json", "stream": "ext://sys.__stderr__"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": JSON_FORMATTER},
        },
        "handlers": {"console": console},
        "root": {"handlers": ["console"], "level": level},
        # ultralytics gives its logger a text handler of its own when imported; configuring it
        # again (Django, a Celery worker) drops that handler, and its warnings come here.
        "loggers": {"ultralytics": {"level": "WARNING", "propagate": True}},
    }


def gunicorn_logconfig(log_format: str, level: str) -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: empty (gunicorn's text logs) unless the format is JSON.
    Replaces gunicorn's handlers for its error log (stderr) and access log (stdout)."""
    if not is_json(log_format):
        return {}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JSON_FORMATTER}, "access": {"()": ACCESS_FORMATTER}},
        "handlers": {
            "error": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
            },
        },  # fmt: skip
        "root": {"handlers": ["error"], "level": level},
        "loggers": {
            "gunicorn.error": {"handlers": ["error"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }


def configure_early(config: dict[str, Any]) -> None:
    """Apply a logging config now, with Python warnings and uncaught exceptions (a worker that
    cannot start, a thread that dies) logged through it: a Celery worker reads the settings long
    before Django configures logging, and can warn or fail in between."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)
    # A line that cannot be written is dropped rather than reported as a text traceback.
    logging.raiseExceptions = False
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    message = f"uncaught {kind.__name__}: {exc}"
    logging.getLogger("uncaught").critical(message, exc_info=(kind, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)
