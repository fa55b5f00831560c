"""The service counts its own load: each SQL statement it sends and each task message it
publishes (the bench divides them by images; operators graph them)."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from config.celery_app import app
from inspection import messaging
from inspection.models import Facility


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.mark.django_db
def test_every_sql_statement_is_counted() -> None:
    before = sample("inspection_sql_statements_total")
    Facility.objects.count()
    Facility.objects.filter(slug="nowhere").exists()
    list(Facility.objects.all())
    assert sample("inspection_sql_statements_total") - before == 3


def test_every_published_task_message_is_counted_by_task() -> None:
    queue = f"load-counter-test-{uuid.uuid4().hex[:8]}"
    task = "inspection.sweep_stalled"
    before = sample("inspection_messages_published_total", {"task": task})
    try:
        for _ in range(2):
            messaging.send(task, "x", queue=queue, task_id=str(uuid.uuid4()))
        counted = sample("inspection_messages_published_total", {"task": task}) - before
    finally:
        with app.connection_for_write() as connection:
            connection.SimpleQueue(queue).clear()
    assert counted == 2
