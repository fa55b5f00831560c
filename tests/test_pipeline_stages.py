"""Each stage's service run directly: results, idempotence, claims, leases and the attempt cap."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import OperationalError, connection
from django.utils import timezone

from inspection.models import Batch, Detection, Facility, Image, ModelVersion, ReviewTask
from inspection.pipeline import claims, lease_keeper
from inspection.pipeline.claims import PREPROCESS
from inspection.pipeline.fairness import claim_fairly
from inspection.pipeline.infer import infer_image
from inspection.pipeline.preprocess import preprocess_image
from inspection.pipeline.replay import replay_failed, replay_image
from inspection.pipeline.sweeper import sweep_stalled
from inspection.pipeline.validate import validate_image
from tasks import pipeline as tasks
from tests.workers import accepting_policy, add_image, empty_batch, photo_bytes, reload

pytestmark = pytest.mark.django_db
Status = Image.Status


@pytest.fixture
def image(facility: Facility, dev_model: ModelVersion, media_root: Path) -> Image:
    return add_image(empty_batch(facility), photo_bytes(800, 450))


def expire_lease(image: Image, status: str) -> None:
    Image.objects.filter(pk=image.pk).update(
        status=status, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def run_to(image: Image, status: str) -> Image:
    for stage, target in (
        (preprocess_image, Status.PREPROCESSED),
        (infer_image, Status.INFERRED),
        (validate_image, None),
    ):
        stage(image.pk)
        if reload(image).status == status or target is None:
            break
    return image


# --- preprocess ------------------------------------------------------------------------------


def test_preprocess_stores_array_geometry_and_model(
    image: Image, dev_model: ModelVersion, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as published:
        assert preprocess_image(image.pk)
    reload(image)
    assert image.status == Status.PREPROCESSED
    assert (image.width, image.height, image.format) == (800, 450, "JPEG")
    assert image.scale == pytest.approx(320 / 800)
    assert image.model_version == dev_model
    assert image.attempts == 0 and image.lease_expires_at is None
    assert default_storage.exists(image.preprocessed_key)
    assert "preprocess_ms" in image.timings
    assert len(published) == 1  # enqueue_infer, after commit


def test_preprocess_twice_leaves_one_result(image: Image) -> None:
    preprocess_image(image.pk)
    first = reload(image).updated_at
    assert not preprocess_image(image.pk)
    assert reload(image).status == Status.PREPROCESSED
    assert image.updated_at == first


def test_no_active_model_fails(image: Image, facility: Facility) -> None:
    Facility.objects.filter(pk=facility.pk).update(active_model=None)
    preprocess_image(image.pk)
    assert (reload(image).status, image.reason) == (Status.FAILED, "no_active_model")


@pytest.mark.parametrize(
    ("data", "reason"), [(b"", "empty_file"), (b"plain text, not a picture", "not_an_image")]
)
def test_bad_upload_fails_with_its_reason(
    facility: Facility, dev_model: ModelVersion, media_root: Path, data: bytes, reason: str
) -> None:
    image = add_image(empty_batch(facility), data, "bad.bin")
    preprocess_image(image.pk)
    assert (reload(image).status, image.reason) == (Status.FAILED, reason)
    assert image.finished_at is not None
    assert Batch.objects.get(pk=image.batch_id).status == Batch.Status.COMPLETED


def test_unexpected_preprocess_error_fails_the_image_only(
    image: Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise OSError("decoder bug")  # an OSError from the decoder is not a storage error

    monkeypatch.setattr("inspection.pipeline.preprocess.preprocess", explode)
    preprocess_image(image.pk)
    assert (reload(image).status, image.reason) == (Status.FAILED, "preprocess_error")
    assert "decoder bug" in image.reason_detail


def test_missing_original_fails(image: Image) -> None:
    default_storage.delete(image.storage_key)
    preprocess_image(image.pk)
    assert (reload(image).status, image.reason) == (Status.FAILED, "original_missing")


# --- infer -----------------------------------------------------------------------------------


def test_infer_stores_boxes_in_original_pixels(image: Image, facility: Facility) -> None:
    accepting_policy(facility, min_confidence=0.001)  # random weights: many weak boxes
    run_to(image, Status.INFERRED)
    assert image.status == Status.INFERRED
    detections = list(image.detections.all())
    assert detections and image.width is not None and image.height is not None
    for d in detections:
        assert 0 <= d.x1 <= d.x2 <= image.width and 0 <= d.y1 <= d.y2 <= image.height
        assert d.class_name in ("parcel", "label", "damage")
    assert {"queue_wait_ms", "inference_ms", "batch_size", "preprocess_ms"} <= set(image.timings)


def test_each_stage_records_how_long_the_image_waited_for_its_claim(
    image: Image, facility: Facility
) -> None:
    accepting_policy(facility)
    waited = {"preprocess": 2.0, "infer": 3.0, "validate": 1.5}  # seconds, made up
    for seconds, stage in zip(
        waited.values(), (preprocess_image, infer_image, validate_image), strict=True
    ):
        # The image entered the stage's waiting status that long ago.
        Image.objects.filter(pk=image.pk).update(
            updated_at=timezone.now() - timedelta(seconds=seconds)
        )
        stage(image.pk)
    timings = reload(image).timings
    for name, seconds in waited.items():
        assert seconds * 1000 <= timings[f"{name}_wait_ms"] < seconds * 1000 + 5000, name
    assert timings["total_ms"] > 0 and "preprocess_ms" in timings  # the others are kept


def test_infer_rerun_replaces_detections(image: Image, facility: Facility) -> None:
    accepting_policy(facility, min_confidence=0.001)
    run_to(image, Status.INFERRED)
    count = image.detections.count()
    assert infer_image(image.pk) == 0  # already past inference: a no-op
    expire_lease(image, Status.INFERRING)  # a worker died after writing: the sweeper re-runs it
    assert infer_image(image.pk) == 1
    assert reload(image).status == Status.INFERRED
    assert image.detections.count() == count


# --- validate --------------------------------------------------------------------------------


def test_validate_accepts_and_completes_the_batch(
    image: Image, facility: Facility, django_capture_on_commit_callbacks: Any
) -> None:
    accepting_policy(facility)
    run_to(image, Status.INFERRED)
    with django_capture_on_commit_callbacks(execute=True):  # validate publishes nothing
        validate_image(image.pk)
    assert reload(image).status == Status.ACCEPTED
    assert image.finished_at is not None and "total_ms" in image.timings
    assert not default_storage.exists(image.preprocessed_key)  # deleted after commit
    assert Batch.objects.get(pk=image.batch_id).status == Batch.Status.COMPLETED


def test_validate_twice_leaves_one_review_task(image: Image, facility: Facility) -> None:
    accepting_policy(facility, review_if_no_detections=True, min_confidence=0.9)
    run_to(image, Status.INFERRED)
    validate_image(image.pk)
    assert (reload(image).status, image.review_reasons) == (Status.NEEDS_REVIEW, ["no_detections"])
    assert not validate_image(image.pk)
    expire_lease(image, Status.VALIDATING)
    assert validate_image(image.pk)
    assert reload(image).status == Status.NEEDS_REVIEW
    assert ReviewTask.objects.filter(image=image).count() == 1


def test_validate_drops_noise_and_marks_kept_detections(image: Image, facility: Facility) -> None:
    policy = accepting_policy(facility, min_confidence=0.001)
    run_to(image, Status.INFERRED)
    confidences = sorted(score(d) for d in image.detections.all())
    cut = confidences[len(confidences) // 2]
    policy.min_confidence, policy.default_threshold = cut, 1.0
    policy.save()
    validate_image(image.pk)
    assert reload(image).status == Status.NEEDS_REVIEW
    kept = image.detections.all()
    assert kept and all(score(d) >= cut and d.accepted is False for d in kept)
    assert image.review_task.min_confidence == pytest.approx(min(score(d) for d in kept))


def score(detection: Detection) -> float:
    assert detection.confidence is not None  # the model's boxes always have one
    return detection.confidence


# --- claims, leases, attempts -----------------------------------------------------------------


def test_two_workers_claiming_one_image_one_wins(image: Image) -> None:
    assert claim_fairly(PREPROCESS) != []
    assert claim_fairly(PREPROCESS) == []


def test_expired_lease_is_reclaimed_and_fences_the_old_worker(image: Image) -> None:
    (old,) = claim_fairly(PREPROCESS)
    assert reload(image).leased_by == claims.holder() and image.claim_token == old.token
    Image.objects.filter(pk=image.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    (new,) = claim_fairly(PREPROCESS)
    assert new.attempt == 2 and new.token != old.token
    assert not claims.finish(old, Status.PREPROCESSED)  # the old worker lost its lease
    assert claims.finish(new, Status.PREPROCESSED)
    assert (reload(image).claim_token, image.leased_by, image.lease_expires_at) == (None, "", None)


def test_a_lease_is_set_and_renewed_in_the_databases_clock(image: Image, settings: Any) -> None:
    settings.PIPELINE_LEASE_SECONDS = 20
    (claim,) = claim_fairly(PREPROCESS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        database_now = cursor.fetchone()[0]
    lease = reload(image).lease_expires_at
    assert abs((lease - database_now).total_seconds() - 20) < 2
    Image.objects.filter(pk=image.pk).update(lease_expires_at=database_now)
    with lease_keeper.holding([claim]):
        assert lease_keeper.renew_once() == 1
    assert reload(image).lease_expires_at > database_now + timedelta(seconds=15)
    assert lease_keeper.renew_once() == 0  # no longer held: nothing renewed


def test_a_restarted_worker_frees_what_its_previous_processes_held(
    facility: Facility, dev_model: ModelVersion, media_root: Path
) -> None:
    mine = add_image(empty_batch(facility), photo_bytes())
    theirs = add_image(empty_batch(facility), photo_bytes(seed=1))
    for image, holder in ((mine, "cpu@host-a/4242"), (theirs, "cpu@host-b/99")):
        Image.objects.filter(pk=image.pk).update(
            status=Status.PREPROCESSING, attempts=1, leased_by=holder, claim_token=uuid.uuid4()
        )
    assert claims.release_previous_incarnation("cpu@host-a") == [mine.pk]
    assert (reload(mine).status, mine.attempts, mine.leased_by) == (Status.QUEUED, 1, "")
    assert reload(theirs).status == Status.PREPROCESSING  # another host's worker: left alone


def test_attempt_cap_fails_the_image(image: Image, settings: Any) -> None:
    Image.objects.filter(pk=image.pk).update(attempts=settings.PIPELINE_MAX_ATTEMPTS)
    expire_lease(image, Status.PREPROCESSING)
    preprocess_image(image.pk)
    assert (reload(image).status, image.reason) == (Status.FAILED, "attempts_exhausted")
    assert Batch.objects.get(pk=image.batch_id).status == Batch.Status.COMPLETED


# --- retries and replay ----------------------------------------------------------------------


def test_a_database_outage_defers_the_image_to_the_sweeper_and_fails_nothing(
    image: Image, monkeypatch: pytest.MonkeyPatch, redis_queues: Any
) -> None:
    def database_down(key: str) -> bytes:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("inspection.storage.read_bytes", database_down)
    for _ in range(10):  # however long the outage lasts
        tasks.preprocess_image.apply(args=[str(image.pk)])  # no retry, no exception
    assert (reload(image).status, image.attempts) == (Status.QUEUED, 0)  # released, not counted
    monkeypatch.undo()
    assert sweep_stalled().requeued == {"preprocess": 1}  # the message it dropped is sent again
    run_to(image, Status.ACCEPTED)
    assert image.status in (Status.ACCEPTED, Status.NEEDS_REVIEW)


def test_a_local_read_error_counts_an_attempt(
    image: Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_error(key: str) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("inspection.storage.read_bytes", disk_error)
    tasks.preprocess_image.apply(args=[str(image.pk)])
    assert (reload(image).status, image.attempts) == (Status.QUEUED, 1)


def test_a_transient_error_releases_the_claim(
    image: Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    def storage_down(key: str) -> bytes:
        raise ConnectionResetError("storage unreachable")

    monkeypatch.setattr("inspection.storage.read_bytes", storage_down)
    with pytest.raises(ConnectionResetError):
        preprocess_image(image.pk)
    assert (reload(image).status, image.attempts) == (Status.QUEUED, 0)


def test_replay_puts_a_failed_image_back_through_the_pipeline(image: Image) -> None:
    Image.objects.filter(pk=image.pk).update(status=Status.FAILED, reason="inference_error")
    assert replay_image(image.pk)
    assert (reload(image).status, image.attempts, image.reason) == (Status.QUEUED, 0, "")
    assert Batch.objects.get(pk=image.batch_id).status == Batch.Status.PROCESSING


def test_replay_failed_only_touches_failed_images(
    facility: Facility, dev_model: ModelVersion, media_root: Path
) -> None:
    batch = empty_batch(facility)
    bad = add_image(batch, b"", "empty")
    good = add_image(batch, photo_bytes())
    preprocess_image(bad.pk)  # one batch: the empty file fails, the photo goes on
    assert reload(good).status == Status.PREPROCESSED
    assert replay_failed(batch) == 1
    assert reload(bad).status == Status.QUEUED
    assert reload(good).status == Status.PREPROCESSED and good.attempts == 0
