"""What the service asks of PostgreSQL and of the broker, counted in the process that asks: every
SQL statement sent through Django's cursors and the time it took (the client's wall time:
network and server), and every task message published (by task) and the time publishing took.
The bench divides them by the images that passed through (statements, messages and seconds per
image); operators read the database and broker load in Prometheus.

Not counted: the BEGIN and COMMIT that psycopg sends around a transaction (they do not pass
through a cursor), and what the broker client says besides publishing (acknowledgements,
polling for messages)."""

from __future__ import annotations

import threading
import time
from typing import Any

from celery.signals import after_task_publish, before_task_publish
from django.db.backends.signals import connection_created

from inspection.observability import metrics


def install() -> None:
    """Once per process (the app's ready()): count on every database connection it opens and
    every message it publishes."""
    connection_created.connect(_count_on, dispatch_uid="inspection.load_counters.sql")
    before_task_publish.connect(_publishing, dispatch_uid="inspection.load_counters.publishing")
    after_task_publish.connect(_message_published, dispatch_uid="inspection.load_counters.task")


# When this thread started publishing its current message.
_publish = threading.local()


def _count_on(sender: Any, connection: Any, **_: Any) -> None:
    # The wrapper list belongs to Django's connection object, which outlives a reconnect.
    if _count_statement not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_statement)


def _count_statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        metrics.record_sql_statement(time.perf_counter() - started)


def _publishing(**_: Any) -> None:
    _publish.started = time.perf_counter()


def _message_published(sender: str | None = None, **_: Any) -> None:
    started = getattr(_publish, "started", None)
    seconds = time.perf_counter() - started if started is not None else 0.0
    metrics.record_message_published(sender or "unknown", seconds)
