"""Predictions the way the service makes them: `preprocess()` (orient, resize, optional lighting
normalisation, quality gate) then `model.predict` on the BGR array with the service's NMS IoU
(`INFERENCE_NMS_IOU`), boxes scaled back to the original pixels. An upload the quality gate
rejects gets no detections."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from inspection.calibration.dataset import Sample
from inspection.calibration.threads import use_all_cores
from inspection.calibration.thresholds import Detection
from inspection.preprocessing import (
    PreprocessConfig,
    PreprocessResult,
    boxes_to_original,
    preprocess,
)
from inspection.preprocessing.errors import ImageRejected

PREDICT_FLOOR = 0.01  # keep low-confidence boxes: calibration picks the cut-off
BATCH = 8


@dataclass(frozen=True)
class Predictions:
    detections: list[Detection]
    rejected: list[str]  # images the quality gate refused


def predict_samples(
    yolo: Any,
    samples: Sequence[Sample],
    imgsz: int,
    config: PreprocessConfig,
    floor: float = PREDICT_FLOOR,
) -> Predictions:
    detections: list[Detection] = []
    rejected: list[str] = []
    for chunk in _chunks(samples, BATCH):
        ready = []
        for sample in chunk:
            try:
                ready.append((sample, preprocess(sample.path.read_bytes(), imgsz, config)))
            except ImageRejected:
                rejected.append(sample.image)
        if ready:
            use_all_cores()  # the first predict() call ran select_device()
            results = yolo.predict(
                [r.array for _, r in ready],
                imgsz=imgsz,
                conf=floor,
                iou=settings.INFERENCE_NMS_IOU,
                verbose=False,
                device="cpu",
            )
            for (sample, pre), result in zip(ready, results, strict=True):
                detections += _detections(sample.image, result, pre)
    return Predictions(detections, rejected)


def _detections(image: str, result: Any, pre: PreprocessResult) -> list[Detection]:
    boxes = result.boxes
    xyxy = boxes_to_original(boxes.xyxy.cpu().numpy(), pre.scale, pre.width, pre.height)
    return [
        Detection(image, int(c), float(p), (float(b[0]), float(b[1]), float(b[2]), float(b[3])))
        for b, p, c in zip(xyxy, boxes.conf.cpu().numpy(), boxes.cls.cpu().numpy(), strict=True)
    ]


def _chunks(items: Sequence[Sample], size: int) -> Iterator[Sequence[Sample]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
