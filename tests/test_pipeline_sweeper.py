"""The sweeper re-publishes expired and stalled work (observed on the real Redis queues)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.utils import timezone

from inspection.models import Batch, Facility, Image
from inspection.observability.broker import queue_keys
from inspection.pipeline.sweeper import sweep_stalled
from tests.workers import add_image, empty_batch, reload

pytestmark = pytest.mark.django_db
Status = Image.Status


def published(client: redis.Redis, queue: str) -> list[tuple[str, str]]:
    """(task name, image id) of every message waiting in a queue, whatever its priority."""
    return sorted(msg for key in queue_keys(queue) for msg in published_in(client, key))


def published_in(client: redis.Redis, key: str) -> list[tuple[str, str]]:
    """The messages of one Redis list (a queue's priority step)."""
    messages = [json.loads(raw) for raw in client.lrange(key, 0, -1)]
    return sorted((m["headers"]["task"], json.loads(_body(m))[0][0]) for m in messages)


def _body(message: dict[str, Any]) -> str:
    import base64

    return base64.b64decode(message["body"]).decode()


def image_in(
    facility: Facility,
    status: str,
    age_seconds: float = 0,
    lease_in: float | None = None,
    attempts: int = 0,
) -> Image:
    image = add_image(empty_batch(facility), b"x", "x.jpg")
    now = timezone.now()
    Image.objects.filter(pk=image.pk).update(
        status=status,
        attempts=attempts,
        updated_at=now - timedelta(seconds=age_seconds),
        lease_expires_at=None if lease_in is None else now + timedelta(seconds=lease_in),
    )
    return image


def test_sweeper_requeues_expired_leases_and_stalled_waits(
    facility: Facility,
    media_root: Path,
    redis_queues: redis.Redis,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stall = settings.PIPELINE_STALL_SECONDS + 1
    expired = {s: image_in(facility, s, lease_in=-1, attempts=1) for s in Image.LEASED}
    stalled = {s: image_in(facility, s, age_seconds=stall) for s in Image.WAITING}
    image_in(facility, Status.PREPROCESSING, lease_in=60, attempts=1)  # held by a live worker
    image_in(facility, Status.PREPROCESSED, age_seconds=1)  # its message is surely still queued
    with django_capture_on_commit_callbacks(execute=True):
        report = sweep_stalled()
    assert sum(report.requeued.values()) == 6
    ids = {status: str(image.pk) for status, image in {**expired, **stalled}.items()}
    assert published(redis_queues, settings.CPU_QUEUE_NAME) == sorted(
        [("inspection.preprocess_image", ids[s]) for s in (Status.QUEUED, Status.PREPROCESSING)]
        + [("inspection.validate_image", ids[s]) for s in (Status.INFERRED, Status.VALIDATING)]
    )
    assert published(redis_queues, settings.INFERENCE_QUEUE_NAME) == sorted(
        ("inspection.infer_image", ids[s]) for s in (Status.PREPROCESSED, Status.INFERRING)
    )
    # Preprocessing waits behind the CPU queue's other work: in its lower-priority list.
    cpu = settings.CPU_QUEUE_NAME
    assert {task for task, _ in published_in(redis_queues, f"{cpu}:3")} == {
        "inspection.preprocess_image"
    }
    assert {task for task, _ in published_in(redis_queues, cpu)} == {"inspection.validate_image"}


def test_sweeper_fails_images_over_the_attempt_cap(
    facility: Facility, media_root: Path, settings: Any
) -> None:
    image = image_in(
        facility, Status.INFERRING, lease_in=-1, attempts=settings.PIPELINE_MAX_ATTEMPTS
    )
    report = sweep_stalled()
    assert report.failed == 1
    assert (reload(image).status, image.reason) == (Status.FAILED, "attempts_exhausted")
    assert Batch.objects.get(pk=image.batch_id).status == Batch.Status.COMPLETED


def test_sweeper_completes_batches_left_behind(facility: Facility, media_root: Path) -> None:
    image = image_in(facility, Status.ACCEPTED)
    assert sweep_stalled().batches_completed == 1
    batch = Batch.objects.get(pk=image.batch_id)
    assert batch.status == Batch.Status.COMPLETED and batch.completed_at is not None
