"""Calibrate per-class thresholds for a model on a labelled split and preview the review load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from inspection.calibration import thresholds as cal
from inspection.calibration.scoring import (
    calibrate,
    calibration_rows,
    score_split,
    thresholds_by_name,
)
from inspection.calibration.targets import PrecisionTargets
from inspection.preprocessing import PreprocessConfig


@dataclass(frozen=True)
class Calibration:
    class_names: tuple[str, ...]
    classes: dict[int, cal.ClassThreshold]
    load: cal.ReviewLoad
    min_confidence: float
    images: int

    def thresholds(self) -> dict[str, float]:
        return thresholds_by_name(self.classes, self.class_names)

    def as_dict(self) -> dict[str, Any]:
        return {
            "classes": calibration_rows(self.classes, self.class_names),
            "min_confidence": self.min_confidence,
            "images": self.images,
            "nms_iou": settings.INFERENCE_NMS_IOU,
            "review_load": {
                "detection_share": round(self.load.detection_share, 4),
                "image_share": round(self.load.image_share, 4),
                "detections": self.load.detections,
                "images": self.load.images,
            },
        }


def run_calibration(
    yolo: Any,
    imgsz: int,
    data_yaml: Path,
    split: str,
    targets: PrecisionTargets,
    min_confidence: float,
    config: PreprocessConfig,
) -> Calibration:
    scoring = score_split(yolo, data_yaml, split, imgsz, config)
    classes = calibrate(scoring, targets)
    cut = {c: t.threshold for c, t in classes.items()}
    images = [s.image for s in scoring.samples]
    load = cal.review_load(scoring.predictions.detections, cut, min_confidence, images)
    return Calibration(scoring.class_names, classes, load, min_confidence, len(images))
