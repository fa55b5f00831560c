"""Bring your own model, through the whole pipeline: the default model and ultralytics' own exports
of it (ONNX, ONNX int8, OpenVINO; tests/model_exports.py says how each is made), each active for
a facility of its own, take the bundled sample photos through a real cpu worker and a real
inference worker; every export's boxes must match the `.pt` model's. An 80-class model goes
through the same workers.

The tolerance, from measurements (the 23 samples that pass preprocessing, one image per predict
on 2 CPU cores, `.pt` through torch at 640 wide with rectangular padding, exports at their
static 640x640; the `.pt` found 105 boxes at confidence >= 0.25, 96 of them >= 0.5):
- every box at confidence >= 0.5 in one has a box of the same class in the other overlapping by
  IoU >= 0.8 with a confidence within 0.1 (int8: IoU >= 0.75, within 0.15). Measured worst
  cases: IoU 0.869 / 0.843 / 0.905 and confidence 0.050 / 0.073 / 0.068 (ONNX / int8 /
  OpenVINO); the margin covers another CPU's kernels (OpenVINO picks bf16 where the CPU has it);
- per photo, the number of boxes at confidence >= 0.25 differs by at most 2 (measured: 1).
  Below 0.5 single boxes are not matched: there the two paddings move confidences by up to 0.14
  (measured), so a box near 0.3 in one can sit under the 0.25 line in the other, and int8 moved
  one such box to IoU 0.51.
The inference worker takes one image per predict (INFERENCE_BATCH_SIZE=1), as measured: a `.pt`
batch of photos of different shapes is padded to one common size, which moves its boxes too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

from inspection.inference import registry
from inspection.models import Batch, Detection, Facility, Image, ModelVersion
from inspection.pipeline.enqueue import enqueue_preprocess
from tests import model_exports
from tests.model_exports import SAMPLES, Boxes, Exports, best_matches, coco_names, unmatched
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

default_exports = model_exports.default_exports
coco_onnx = model_exports.coco_onnx

# Per export: IoU at least, confidence difference at most (see the module docstring).
TOLERANCE = {"onnx": (0.8, 0.1), "onnx_int8": (0.75, 0.15), "openvino": (0.8, 0.1)}
CONFIDENT = 0.5
COUNTED = 0.25
MAX_COUNT_DIFFERENCE = 2
COMPLETION_TIMEOUT = 300


@pytest.fixture
def workers(tmp_path: Path, media_root: Path, redis_queues: redis.Redis) -> Iterator[WorkerSet]:
    logs = tmp_path / "logs"
    logs.mkdir()
    # The `.pt` reference runs in torch: on a CPU the default backend would run it through an
    # OpenVINO export of it (tests/test_openvino_backend.py compares those two).
    env = worker_env(
        media_root, tmp_path / "var", INFERENCE_BATCH_SIZE="1", INFERENCE_BACKEND="torch"
    )
    group = WorkerSet(env, logs)
    try:
        yield group
    finally:
        group.stop_all()


def facility_with(path: Path, version: str) -> Facility:
    facility = Facility.objects.create(slug=f"byo-{version}".replace("_", "-"), name=version)
    registry.activate_model(facility, registry.register_model(path, "byo", version))
    accepting_policy(facility, min_confidence=0.1)  # keep what the models find from 0.1 up
    return facility


def submit_samples(facility: Facility) -> Batch:
    batch = empty_batch(facility)
    images = [add_image(batch, path.read_bytes(), path.name) for path in sorted(SAMPLES.glob("*"))]
    enqueue_preprocess([image.pk for image in images])
    return batch


def boxes_by_photo(batch: Batch) -> dict[str, Boxes]:
    found = {}
    for image in Image.objects.filter(batch=batch):
        rows = list(Detection.objects.filter(image=image, source=Detection.Source.MODEL))
        found[image.original_name] = Boxes(
            xyxy=np.array([row.as_box() for row in rows], dtype=float).reshape(-1, 4),
            confidences=np.array([row.confidence for row in rows], dtype=float),
            classes=[row.class_name for row in rows],
        )
    return found


def mismatches(reference: Boxes, export: Boxes, min_iou: float, max_diff: float) -> list[str]:
    found = [
        *(f"missing {box}" for box in unmatched(reference, export, CONFIDENT, min_iou, max_diff)),
        *(f"extra {box}" for box in unmatched(export, reference, CONFIDENT, min_iou, max_diff)),
    ]
    counts = (reference.at_least(COUNTED), export.at_least(COUNTED))
    if abs(counts[0] - counts[1]) > MAX_COUNT_DIFFERENCE:
        found.append(f"{counts[0]} vs {counts[1]} boxes >= {COUNTED}")
    return found


def report(
    capsys: pytest.CaptureFixture[str],
    field: str,
    reference: dict[str, Boxes],
    export: dict[str, Boxes],
) -> None:
    matches = [
        m for photo in reference for m in best_matches(reference[photo], export[photo], CONFIDENT)
    ]
    with capsys.disabled():
        print(
            f"\n[formats] {field}: {len(matches)} confident .pt boxes, worst IoU "
            f"{min(m[0] for m in matches):.3f}, largest confidence difference "
            f"{max(m[1] for m in matches):.3f}"
        )


def test_exports_of_the_default_model_find_what_it_finds_through_the_pipeline(
    default_exports: Exports,
    coco_onnx: Path,
    workers: WorkerSet,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fields = ["pt", *TOLERANCE]
    facilities = {field: facility_with(getattr(default_exports, field), field) for field in fields}
    facilities["coco"] = facility_with(coco_onnx, "coco80")
    workers.start("cpu", CPU_QUEUES)
    workers.start("inference", "gpu", role="inference").wait_ready(timeout=180)
    batches = {field: submit_samples(facility) for field, facility in facilities.items()}

    def completed() -> bool:
        done = Batch.objects.filter(pk__in=[b.pk for b in batches.values()], status="completed")
        return done.count() == len(batches)

    assert wait_until(completed, COMPLETION_TIMEOUT, 0.2), list(
        Image.objects.exclude(status__in=Image.TERMINAL).values("original_name", "status")
    )

    reference = boxes_by_photo(batches["pt"])
    assert sum(boxes.at_least(COUNTED) for boxes in reference.values()) >= 50  # it sees parcels
    for field, (min_iou, max_diff) in TOLERANCE.items():
        export = boxes_by_photo(batches[field])
        assert export.keys() == reference.keys()
        wrong = {
            photo: found
            for photo in reference
            if (found := mismatches(reference[photo], export[photo], min_iou, max_diff))
        }
        assert not wrong, (field, wrong)
        report(capsys, field, reference, export)

    coco = ModelVersion.objects.get(version="coco80")
    assert len(coco.class_names) == 80
    inferred = Image.objects.filter(batch=batches["coco"], model_version__isnull=False)
    assert (
        inferred.count()
        == Image.objects.filter(batch=batches["pt"]).exclude(status=Image.Status.FAILED).count()
    )
    assert {image.model_version_id for image in inferred} == {coco.pk}
    assert set(
        Detection.objects.filter(image__batch=batches["coco"]).values_list("class_name", flat=True)
    ) <= set(coco_names())
    log = workers.workers["inference"].log()
    for version in [*fields, "coco80"]:
        assert log.count(f"model loaded: byo:{version} ") == 1, log[-3000:]
