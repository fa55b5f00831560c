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
from inspection.observability import heartbeat
from inspection.observability.broker import queue_keys
from inspection.pipeline.enqueue import enqueue_preprocess
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


def sweep(callbacks: Any) -> Any:
    with callbacks(execute=True):
        return sweep_stalled()


def test_the_sweeper_sends_a_message_for_every_waiting_image_that_has_none(
    facility: Facility,
    media_root: Path,
    redis_queues: redis.Redis,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    expired = {s: image_in(facility, s, lease_in=-1, attempts=1) for s in Image.LEASED}
    waiting = {s: image_in(facility, s) for s in Image.WAITING}
    image_in(facility, Status.PREPROCESSING, lease_in=60, attempts=1)  # held by a live worker
    report = sweep(django_capture_on_commit_callbacks)
    assert report.requeued == {"preprocess": 2, "infer": 2, "validate": 2}
    ids = {status: str(image.pk) for status, image in {**expired, **waiting}.items()}
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


def test_a_backlog_whose_messages_wait_in_the_queue_is_left_alone(
    facility: Facility,
    media_root: Path,
    redis_queues: redis.Redis,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.PREPROCESS_BATCH_SIZE = 4
    backlog = [image_in(facility, Status.QUEUED) for _ in range(9)]
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_preprocess(image.pk for image in backlog[:5])  # 2 messages; the third was lost
    assert sweep(django_capture_on_commit_callbacks).requeued == {"preprocess": 1}
    # Three messages of 4 for nine images now: later sweeps send nothing, however long they wait.
    assert sweep(django_capture_on_commit_callbacks).requeued == {}
    assert len(published(redis_queues, "cpu")) == 3


def test_a_retried_image_needs_a_message_of_its_own(
    facility: Facility,
    media_root: Path,
    redis_queues: redis.Redis,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """It is claimed alone, so a batch message does not stand for it."""
    settings.PREPROCESS_BATCH_SIZE = 4
    fresh = [image_in(facility, Status.QUEUED) for _ in range(3)]
    retried = image_in(facility, Status.QUEUED)
    Image.objects.filter(pk=retried.pk).update(attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_preprocess(image.pk for image in fresh)
    assert sweep(django_capture_on_commit_callbacks).requeued == {"preprocess": 1}
    sent = {image_id for _, image_id in published(redis_queues, "cpu")}
    assert sent == {str(fresh[0].pk), str(retried.pk)}


def test_a_re_sent_image_waits_twice_as_long_each_time(
    facility: Facility,
    media_root: Path,
    redis_queues: redis.Redis,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    image = image_in(facility, Status.QUEUED)
    assert sweep(django_capture_on_commit_callbacks).requeued == {"preprocess": 1}
    redis_queues.flushdb()  # lost again
    assert sweep(django_capture_on_commit_callbacks).requeued == {}  # too soon
    waits = []
    for resends in (1, 2, 3):
        age = settings.PIPELINE_RESEND_SECONDS * 2 ** (resends - 1)
        Image.objects.filter(pk=image.pk).update(
            resent_at=timezone.now() - timedelta(seconds=age - 2)
        )
        assert sweep(django_capture_on_commit_callbacks).requeued == {}
        Image.objects.filter(pk=image.pk).update(
            resent_at=timezone.now() - timedelta(seconds=age + 2)
        )
        assert sweep(django_capture_on_commit_callbacks).requeued == {"preprocess": 1}
        redis_queues.flushdb()
        waits.append(age)
    assert waits == [30, 60, 120] and reload(image).resends == 4


def test_the_sweeper_frees_what_a_worker_without_heartbeat_holds(
    facility: Facility,
    media_root: Path,
    redis_queues: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dead = image_in(facility, Status.INFERRING, lease_in=15, attempts=1)
    alive = image_in(facility, Status.INFERRING, lease_in=15, attempts=1)
    Image.objects.filter(pk=dead.pk).update(leased_by="inference@gone/77")
    Image.objects.filter(pk=alive.pk).update(leased_by="inference@here/78")
    heartbeat.beat("inference", "inference@here", pids=[78])
    report = sweep(django_capture_on_commit_callbacks)
    assert (report.released, report.requeued) == (1, {"infer": 1})
    assert (reload(dead).status, dead.attempts) == (Status.PREPROCESSED, 1)  # counted: poison?
    assert reload(alive).status == Status.INFERRING


def test_the_sweeper_frees_what_a_pool_process_held_when_it_died(
    facility: Facility,
    media_root: Path,
    redis_queues: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Its worker lives on (the pool replaced the process): the beat lists the live ones."""
    killed = image_in(facility, Status.PREPROCESSING, age_seconds=10, lease_in=15, attempts=1)
    fresh = image_in(facility, Status.PREPROCESSING, lease_in=15, attempts=1)
    Image.objects.filter(pk=killed.pk).update(leased_by="cpu@here/501")
    Image.objects.filter(pk=fresh.pk).update(leased_by="cpu@here/503")
    heartbeat.beat("cpu", "cpu@here", pids=[500, 502])  # 501 died; 503 claimed after this beat
    Image.objects.filter(pk=fresh.pk).update(updated_at=timezone.now() + timedelta(seconds=5))
    report = sweep(django_capture_on_commit_callbacks)
    assert report.released == 1
    assert reload(killed).status == Status.QUEUED and reload(fresh).status == Status.PREPROCESSING


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
