"""A shadow model in the real pipeline (cpu and inference worker processes): once set, the
inference worker loads it (its model watcher), runs it on each batch after the active model and
stores its boxes apart (source=shadow, its model version, one ShadowRun per image), and the
images' statuses, routing and the active model's boxes are exactly those of the same photos
processed without a shadow. Its cost shows in the worker's metrics. A shadow that cannot run
fails no image: it is logged and counted. Promoted, the candidate routes the next images; rolled
back, the previous model and thresholds give the first results again."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from inspection.demo.processes import free_port
from inspection.inference import registry
from inspection.models import (
    Batch,
    Detection,
    Facility,
    Image,
    ModelVersion,
    ShadowRun,
    ThresholdSource,
)
from inspection.pipeline.enqueue import enqueue_preprocess
from inspection.services import shadow
from inspection.services.policies import ThresholdChange
from tests.workers import (
    CPU_QUEUES,
    WorkerSet,
    accepting_policy,
    add_image,
    empty_batch,
    photo_bytes,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PHOTOS = 4


@pytest.fixture
def active(facility: Facility, dev_model_file: Path) -> ModelVersion:
    """Random weights, with a policy that keeps their faint boxes (so there are boxes)."""
    model = registry.register_model(dev_model_file, "dev", "active", input_size=320)
    registry.activate_model(facility, model)
    accepting_policy(facility, min_confidence=0.001, default_threshold=0.001)
    return model


@pytest.fixture
def workers(
    tmp_path: Path, media_root: Path, active: ModelVersion, redis_queues: redis.Redis
) -> Iterator[tuple[WorkerSet, int]]:
    port = free_port(0)
    logs = tmp_path / "logs"
    logs.mkdir()
    group = WorkerSet(worker_env(media_root, tmp_path / "var"), logs)
    try:
        cpu = group.start("cpu", CPU_QUEUES)
        group.env = {
            **group.env,
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "WORKER_METRICS_PORT": str(port),
            "WORKER_METRICS_ADDR": "127.0.0.1",
        }
        group.start("inference", "gpu", role="inference").wait_ready()
        cpu.wait_ready()
        yield group, port
    finally:
        group.stop_all()


def run_batch(facility: Facility) -> Batch:
    batch = empty_batch(facility)
    photos = [add_image(batch, photo_bytes(seed=seed), f"p{seed}.jpg") for seed in range(PHOTOS)]
    enqueue_preprocess([image.pk for image in photos])
    done = Batch.objects.filter(pk=batch.pk, status=Batch.Status.COMPLETED).exists
    assert wait_until(done, 90, 0.05)
    return batch


def results(batch: Batch) -> list[tuple[Any, ...]]:
    """What routing and the result are made of, per image: status, reasons, the model's boxes."""
    rows = []
    for image in Image.objects.filter(batch=batch).prefetch_related("detections"):
        boxes = sorted(
            (d.class_name, round(d.confidence or 0, 5), round(d.x1, 2), round(d.y2, 2), d.accepted)
            for d in image.final_detections()
        )
        rows.append(
            (image.position, image.status, image.review_reasons, image.model_version_id, boxes)
        )
    return sorted(rows)


def shadow_metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def test_a_shadow_stores_its_boxes_apart_and_changes_no_result(
    facility: Facility,
    active: ModelVersion,
    dev_model_file: Path,
    tmp_path: Path,
    workers: tuple[WorkerSet, int],
) -> None:
    group, port = workers
    inference = group.workers["inference"]
    plain = run_batch(facility)
    assert not Detection.objects.filter(source=Detection.Source.SHADOW).exists()

    other = registry.build_untrained_model(tmp_path / "candidate.pt", seed=5)
    calibrated = ThresholdChange(ThresholdSource.CALIBRATED, {}, 0.5)
    candidate = registry.register_model(other, "dev", "candidate", 320, calibrated)
    shadow.set_shadow(facility, candidate, by="test")
    assert wait_until(lambda: "model loaded: dev:candidate" in inference.log(), 60)
    shadowed = run_batch(facility)

    assert results(shadowed) == results(plain)
    assert results(plain)[0][4], "the active model kept no box: the comparison proves nothing"
    runs = ShadowRun.objects.filter(image__batch=shadowed)
    # The shadow runs after the results are on their way to validation (it never delays them):
    # on a loaded machine the batch can complete before the shadow's rows are written.
    assert wait_until(lambda: runs.count() == PHOTOS, 30), runs.count()
    assert {run.model_version_id for run in runs} == {candidate.pk}
    rows = Detection.objects.filter(image__batch=shadowed, source=Detection.Source.SHADOW)
    assert rows.exists() and {row.model_version_id for row in rows} == {candidate.pk}
    assert sum(run.boxes for run in runs) == rows.count()
    assert all(row.accepted is None for row in rows)  # never routed
    assert shadow_metric(port, "inspection_shadow_inference_seconds_count") == PHOTOS
    assert shadow_metric(port, "inspection_shadow_boxes_total") == rows.count()

    # A shadow that cannot load: logged and counted, and the images are as before.
    broken = ModelVersion.objects.create(
        name="gone", version="1", file_path=str(tmp_path / "gone.pt"), class_names=["parcel"]
    )
    shadow.set_shadow(facility, broken, by="test")
    after_broken = run_batch(facility)
    assert results(after_broken) == results(plain)
    assert not ShadowRun.objects.filter(image__batch=after_broken).exists()
    assert "shadow model gone:1 failed" in inference.log()
    assert shadow_metric(port, "inspection_shadow_failures_total") >= 1

    # Promoted, the candidate takes the next images (no shadow any more); rolled back, the
    # previous model and thresholds give the results of the first batch again.
    shadow.set_shadow(facility, candidate, by="test")
    shadow.promote(facility, by="test")
    promoted = run_batch(facility)
    assert {row[3] for row in results(promoted)} == {candidate.pk}
    assert not ShadowRun.objects.filter(image__batch=promoted).exists()
    shadow.roll_back(facility, by="test")
    assert results(run_batch(facility)) == results(plain)
