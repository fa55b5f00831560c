"""End to end through real processes: the REST API (in the test process), a cpu worker and an
inference worker (`celery worker` subprocesses), Redis db 3 and the pytest PostgreSQL database."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.utils import timezone
from PIL import Image as PILImage

from inspection.inference import registry
from inspection.learning import sampling
from inspection.models import Batch, Facility, Image, ModelVersion, ReviewTask
from inspection.pipeline.enqueue import enqueue_preprocess
from tests import images
from tests.api_support import finished_at, submit, upload
from tests.workers import (
    CPU_QUEUES,
    WorkerSet,
    accepting_policy,
    add_image,
    empty_batch,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
Status = Image.Status
COMPLETION_TIMEOUT = 120


@pytest.fixture
def model(facility: Facility, dev_model_file: Path) -> ModelVersion:
    model = registry.register_model(dev_model_file, "dev-untrained", "e2e")
    registry.activate_model(facility, model)
    accepting_policy(facility)  # random weights find nothing: good photos must end accepted
    return model


def workers_for(tmp_path: Path, media_root: Path, **env: str) -> WorkerSet:
    logs = tmp_path / "logs"
    logs.mkdir()
    return WorkerSet(worker_env(media_root, tmp_path / "var", **env), logs)


@pytest.fixture
def workers(
    tmp_path: Path, media_root: Path, model: ModelVersion, redis_queues: redis.Redis
) -> Iterator[WorkerSet]:
    group = workers_for(tmp_path, media_root)
    try:
        yield group
    finally:
        group.stop_all()


def start_pipeline(group: WorkerSet, beat_schedule: Path | None = None) -> None:
    beat = ["-B", "-s", str(beat_schedule)] if beat_schedule else []
    cpu = group.start("cpu", CPU_QUEUES, extra_args=beat)
    start_inference(group)
    cpu.wait_ready()


def start_inference(group: WorkerSet) -> None:
    inference = group.start("inference", "gpu", role="inference")
    inference.wait_ready()


def cmyk_photo() -> bytes:
    """A real photo saved as CMYK (the factory's flat CMYK swatch is flagged too_blurry)."""
    rgb = images.scene(640, 480, seed=3)[..., ::-1].copy()
    return images.pillow_bytes(PILImage.fromarray(rgb).convert("CMYK"), "JPEG", quality=90)


MIXED = {
    "good-1.jpg": (images.photo_jpeg, Status.ACCEPTED, ""),
    "good-2.jpg": (lambda: images.photo_jpeg(seed=1), Status.ACCEPTED, ""),
    "cmyk.jpg": (cmyk_photo, Status.ACCEPTED, ""),
    "rotated.jpg": (images.exif_rotated_jpeg, Status.ACCEPTED, ""),
    "animated.gif": (images.animated_gif, Status.ACCEPTED, ""),
    "dark.jpg": (images.dark_photo_jpeg, Status.NEEDS_REVIEW, ""),
    "black.jpg": (images.black_photo_jpeg, Status.FAILED, "too_dark"),
    "corrupt.jpg": (images.corrupt_jpeg, Status.FAILED, "corrupt"),
    "empty.jpg": (images.empty_file, Status.FAILED, "empty_file"),
    "notes.txt": (images.non_image, Status.FAILED, "not_an_image"),
}


def wait_for_batches(*batch_ids: Any, timeout: float = COMPLETION_TIMEOUT) -> None:
    def done() -> bool:
        completed = Batch.objects.filter(pk__in=batch_ids, status=Batch.Status.COMPLETED)
        return completed.count() == len(batch_ids)

    assert wait_until(done, timeout, 0.05), "; ".join(  # a string: pytest prints it whole
        f"{row['original_name']} {row['status']} {row['reason']}"
        for row in Image.objects.filter(batch_id__in=batch_ids).values(
            "original_name", "status", "reason"
        )
    )


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[e2e] {line}")


def test_mixed_batch_through_real_workers(
    workers: WorkerSet,
    api_client: Any,
    facility: Facility,
    media_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start_pipeline(workers)
    bomb = submit(api_client, [upload("bomb.png", images.decompression_bomb_png())])
    assert bomb.status_code == 202  # refused on its own: failed at once, nothing stored
    (refused,) = Image.objects.filter(batch_id=bomb.json()["id"])
    assert (refused.status, refused.reason, refused.storage_key) == (
        Status.FAILED,
        "too_many_pixels",
        "",
    )
    started = time.monotonic()
    submitted = timezone.now()
    response = submit(api_client, [upload(name, make()) for name, (make, _, _) in MIXED.items()])
    assert response.status_code == 202, response.content
    # The pipeline's own bomb handling: a row the API would never create, enqueued directly.
    bomb_image = add_image(empty_batch(facility), images.decompression_bomb_png(), "bomb.png")
    enqueue_preprocess([bomb_image.pk])
    batch_id = response.json()["id"]
    wait_for_batches(batch_id, bomb_image.batch_id)
    elapsed = time.monotonic() - started

    found = {image.original_name: image for image in Image.objects.filter(batch_id=batch_id)}
    assert len(found) == len(MIXED) == Batch.objects.get(pk=batch_id).total
    for name, (_, status, reason) in MIXED.items():
        image = found[name]
        assert image.status == status, (name, image.status, image.reason, image.reason_detail)
        if reason == "corrupt":
            assert image.reason in ("corrupt", "truncated"), name
        else:
            assert image.reason == reason, (name, image.reason, image.reason_detail)
    dark = found["dark.jpg"]
    assert "quality:too_dark" in dark.review_reasons
    assert ReviewTask.objects.filter(image=dark).count() == 1
    assert (found["rotated.jpg"].width, found["rotated.jpg"].height) == (480, 640)
    bomb_image.refresh_from_db()
    assert (bomb_image.status, bomb_image.reason) == (Status.FAILED, "too_many_pixels")
    counts = Counter(image.status for image in found.values())
    assert sum(counts[s] for s in Image.TERMINAL) == len(MIXED)

    log = workers.workers["inference"].log()
    assert len(re.findall(r"model loaded: ", log)) == 1, log[-3000:]
    assert "loads_in_process=1 " in log

    inferred = [image for image in found.values() if "batch_size" in image.timings]
    first = min(finished_at(image) for image in found.values())
    report(
        capsys,
        f"mixed batch: {len(MIXED)} images in {elapsed:.2f}s ({len(MIXED) / elapsed:.1f} img/s); "
        f"first result {(first - submitted).total_seconds() * 1000:.0f} ms after submission; "
        f"batch sizes {sorted(Counter(i.timings['batch_size'] for i in inferred).items())}; "
        f"queue_wait_ms {[i.timings['queue_wait_ms'] for i in inferred]}",
    )


def test_inference_worker_killed_mid_batch_loses_nothing(
    tmp_path: Path,
    media_root: Path,
    model: ModelVersion,
    redis_queues: redis.Redis,
    api_client: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The default leases, the sweeper every second (beat inside the cpu worker), and an
    # inference worker that takes full batches of 8, so the kill lands while it holds work.
    group = workers_for(
        tmp_path,
        media_root,
        PIPELINE_SWEEP_INTERVAL_SECONDS="1",
        INFERENCE_MAX_BATCH_MS="100000",
    )
    try:
        start_pipeline(group, beat_schedule=tmp_path / "beat-schedule")
        count = 24
        started = time.monotonic()
        files = [upload(f"p{i}.jpg", images.photo_jpeg(640, 480, seed=i)) for i in range(count)]
        response = submit(api_client, files)
        assert response.status_code == 202
        batch_id = response.json()["id"]

        def holding() -> bool:
            return Image.objects.filter(batch_id=batch_id, status=Status.INFERRING).count() >= 4

        assert wait_until(holding, 60, 0.01)
        group.workers["inference"].kill9()
        held = Image.objects.filter(batch_id=batch_id, status=Status.INFERRING).count()
        assert held >= 1
        start_inference(group)
        wait_for_batches(batch_id)
        elapsed = time.monotonic() - started
    finally:
        group.stop_all()
    statuses = Counter(Image.objects.filter(batch_id=batch_id).values_list("status", flat=True))
    assert statuses == {Status.ACCEPTED: count}, statuses
    # No image needed review; the accepted images drawn for audit (2 %) have an audit task each,
    # whatever worker validated them and however often.
    tasks = ReviewTask.objects.filter(image__batch_id=batch_id)
    assert not tasks.filter(kind=ReviewTask.Kind.REVIEW).exists()
    accepted = Image.objects.filter(batch_id=batch_id).select_related("facility")
    drawn = {i.id for i in accepted if sampling.chosen(i.id, i.facility.audit_share)}
    assert set(tasks.values_list("image_id", flat=True)) == drawn
    report(
        capsys,
        f"crash test: killed the inference worker holding {held} images; all {count} accepted "
        f"after restart in {elapsed:.1f}s",
    )


def test_a_batch_many_windows_long_runs_on_its_wake_ups_alone(
    tmp_path: Path,
    media_root: Path,
    model: ModelVersion,
    redis_queues: redis.Redis,
    api_client: Any,
    settings: Any,
) -> None:
    """Back-pressure through real workers, two CPU processes and no sweeper: 24 images through
    a window of 4. The submission sends messages for the first four only; every other image is
    claimed because a finished inference batch woke it, and the facility never has more than
    its window (and the batch of a claim racing another) ahead of inference."""
    window = {"PREPROCESS_AHEAD_IMAGES": "4", "PREPROCESS_BATCH_SIZE": "2"}
    settings.PREPROCESS_AHEAD_IMAGES, settings.PREPROCESS_BATCH_SIZE = 4, 2
    group = workers_for(tmp_path, media_root, INFERENCE_BATCH_SIZE="2", **window)
    try:
        cpu = group.start("cpu", CPU_QUEUES, extra_args=["--concurrency", "2"])
        start_inference(group)
        cpu.wait_ready(processes=2)
        files = [upload(f"parcel-{i}.jpg", images.photo_jpeg(seed=i)) for i in range(24)]
        response = submit(api_client, files)
        assert response.status_code == 202, response.content
        batch_id = response.json()["id"]
        ahead = Image.objects.filter(
            batch_id=batch_id,
            status__in=[Status.PREPROCESSING, Status.PREPROCESSED, Status.INFERRING],
        )
        most = 0

        def completed() -> bool:
            nonlocal most
            most = max(most, ahead.count())
            return Batch.objects.filter(pk=batch_id, status=Batch.Status.COMPLETED).exists()

        assert wait_until(completed, COMPLETION_TIMEOUT, 0.02), list(
            Image.objects.filter(batch_id=batch_id).values_list("status", flat=True)
        )
    finally:
        group.stop_all()
    assert Image.objects.filter(batch_id=batch_id, status__in=Image.TERMINAL).count() == 24
    assert 2 <= most <= 4 + 2
