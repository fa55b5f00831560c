"""Webhook tasks: a delivery id in, one service call. No Celery-level retries: the delivery row
is the schedule (the service publishes the next attempt with its backoff), and the periodic
re-publisher picks up any delivery whose message or worker was lost."""

from __future__ import annotations

from celery import shared_task

from inspection import task_names
from inspection.webhooks import delivery

# Seconds: (soft, hard). One POST: 3 s to connect, 10 s to answer; the claim outlasts these.
DELIVER_LIMITS = (30, 45)
REPUBLISH_LIMITS = (60, 120)


@shared_task(
    name=task_names.DELIVER_WEBHOOK,
    soft_time_limit=DELIVER_LIMITS[0],
    time_limit=DELIVER_LIMITS[1],
)
def deliver_webhook(delivery_id: str) -> None:
    delivery.deliver(delivery_id)


@shared_task(
    name=task_names.REPUBLISH_WEBHOOKS,
    soft_time_limit=REPUBLISH_LIMITS[0],
    time_limit=REPUBLISH_LIMITS[1],
)
def republish_due_webhooks() -> None:
    delivery.republish_due()
