"""End to end through a real `celery worker` process (Redis db of the test run, the pytest
PostgreSQL database): a batch completes in the test process, the worker signs and POSTs the
webhook to a real receiver in the test, retries a 503 after its backoff, and records it."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
import redis

from inspection.models import Facility, WebhookDelivery
from inspection.pipeline.completion import complete_batch_if_done
from tests.webhook_receiver import receiver
from tests.webhook_support import finished_batch, key_with_webhook
from tests.workers import CPU_QUEUES, WorkerSet, wait_until, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_delivers_the_webhook_after_a_retry(
    facility: Facility,
    media_root: Path,
    redis_queues: redis.Redis,
    tmp_path: Path,
) -> None:
    (tmp_path / "logs").mkdir()
    env = worker_env(
        media_root,
        tmp_path / "var",
        WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
        WEBHOOK_BACKOFF_SECONDS="1",
    )
    group = WorkerSet(env, tmp_path / "logs")
    with receiver(503) as hook:
        key = key_with_webhook(facility, hook.url)
        batch = finished_batch(key, facility)
        try:
            group.start("cpu", CPU_QUEUES).wait_ready()
            assert complete_batch_if_done(batch.pk)  # commits, then publishes

            def delivered() -> bool:
                return WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED

            assert wait_until(delivered, timeout=60), group.workers["cpu"].log()[-3000:]
        finally:
            group.stop_all()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_status_code) == (2, 200)
    assert len(hook.requests) == 2
    last = hook.requests[-1]
    signed = f"{last.headers['X-Inspection-Timestamp']}.".encode() + last.body
    digest = hmac.new(key.webhook_secret.encode(), signed, hashlib.sha256).hexdigest()
    assert last.headers["X-Inspection-Signature"] == f"sha256={digest}"
