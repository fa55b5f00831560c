"""A labelled split predicted through the service's preprocessing and matched against its ground
truth, and the per-class thresholds calibrated on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspection.calibration import thresholds as cal
from inspection.calibration.dataset import Sample, class_names_of, load_split
from inspection.calibration.predict import Predictions, predict_samples
from inspection.calibration.targets import PrecisionTargets
from inspection.calibration.yolo_layout import DataSetError
from inspection.inference import loader
from inspection.preprocessing import PreprocessConfig


@dataclass(frozen=True)
class Scoring:
    """Predictions for one split, matched against its ground truth."""

    class_names: tuple[str, ...]  # the data set's, which the model's must equal
    samples: list[Sample]
    predictions: Predictions
    scored: list[cal.Scored]
    truths: list[cal.GroundTruth]


def score_split(
    yolo: Any,
    data_yaml: Path,
    split: str,
    imgsz: int,
    config: PreprocessConfig,
) -> Scoring:
    names = class_names_of(data_yaml)
    check_same_classes(names, tuple(loader.class_names(yolo)), data_yaml)
    samples = load_split(data_yaml, split)
    predictions = predict_samples(yolo, samples, imgsz, config)
    truths = [t for s in samples for t in s.truths]
    return Scoring(names, samples, predictions, cal.match(predictions.detections, truths), truths)


def check_same_classes(data: tuple[str, ...], model: tuple[str, ...], data_yaml: Path) -> None:
    """Truths and detections are matched by class id: both must mean the same classes."""
    if data != model:
        raise DataSetError(
            f"the model's classes ({', '.join(model)}) differ from those of "
            f"{data_yaml} ({', '.join(data)}): label the data set with the "
            "model's classes, in the model's order"
        )


def calibrate(scoring: Scoring, targets: PrecisionTargets) -> dict[int, cal.ClassThreshold]:
    class_ids = range(len(scoring.class_names))
    return cal.calibrate(
        scoring.scored, scoring.truths, class_ids, targets.by_id(scoring.class_names)
    )


def thresholds_by_name(
    calibrated: Mapping[int, cal.ClassThreshold],
    names: Sequence[str],
) -> dict[str, float]:
    return {names[c]: round(t.threshold, 4) for c, t in calibrated.items()}


def calibration_rows(
    calibrated: Mapping[int, cal.ClassThreshold],
    names: Sequence[str],
) -> dict[str, dict[str, Any]]:
    return {
        names[c]: {
            "threshold": _r(t.threshold),
            "precision": _r(t.precision),
            "precision_low": _r(t.precision_low),
            "recall": _r(t.recall),
            "target_precision": t.target,
            "target_reached": t.reached,
            "truths": t.ground_truths,
            "detections": t.detections,
        }
        for c, t in calibrated.items()
    }


def _r(value: float) -> float:
    return round(value, 4)
