"""Evaluate a detector on a generated data set: ultralytics mAP on a split, and our own
precision/recall per capture-problem subset at calibrated thresholds, on predictions made
through the service's preprocessing."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from django.conf import settings

from inspection.inference import loader
from inspection.preprocessing import PreprocessConfig
from lab.training import calibration as cal
from lab.training.boards import damage_by_board
from lab.training.dataset import (
    SUBSET_ORDER,
    Sample,
    class_names_of,
    load_split,
    validator_data_yaml,
)
from lab.training.predict import Predictions, predict_samples
from lab.training.targets import PrecisionTargets
from lab.training.threads import use_all_cores
from lab.training.yolo_layout import DataSetError

LIGHTING_SUBSETS = ("dark", "glare", "clean", "all")


@dataclass(frozen=True)
class Scoring:
    """Predictions for one split, matched against its ground truth."""

    class_names: tuple[str, ...]  # the data set's, which the model's must equal
    samples: list[Sample]
    predictions: Predictions
    scored: list[cal.Scored]
    truths: list[cal.GroundTruth]


def score_split(
    yolo: Any, data_yaml: Path, split: str, imgsz: int, config: PreprocessConfig,
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
        raise DataSetError(f"the model's classes ({', '.join(model)}) differ from those of "
                           f"{data_yaml} ({', '.join(data)}): label the data set with the "
                           "model's classes, in the model's order")


def calibrate(scoring: Scoring, targets: PrecisionTargets) -> dict[int, cal.ClassThreshold]:
    class_ids = range(len(scoring.class_names))
    return cal.calibrate(scoring.scored, scoring.truths, class_ids,
                         targets.by_id(scoring.class_names))


def subset_metrics(
    scoring: Scoring, thresholds: Mapping[int, float],
) -> dict[str, dict[str, Any]]:
    """Precision/recall per subset, overall and per class, of the detections at or above their
    class threshold."""
    return {name: _subset(scoring, name, thresholds) for name in SUBSET_ORDER
            if any(name in s.subsets for s in scoring.samples)}


def _subset(scoring: Scoring, name: str, thresholds: Mapping[int, float]) -> dict[str, Any]:
    images = {s.image for s in scoring.samples if name in s.subsets}
    kept = [s for s in scoring.scored
            if s.image in images and s.confidence >= thresholds.get(s.class_id, 1.0)]
    truths = [t for t in scoring.truths if t.image in images]
    row: dict[str, Any] = {"images": len(images),
                           "rejected": sum(i in images for i in scoring.predictions.rejected),
                           **_pr(kept, len(truths))}
    for c, class_name in enumerate(scoring.class_names):
        row[class_name] = _pr([s for s in kept if s.class_id == c],
                              sum(t.class_id == c for t in truths))
    return row


def _pr(kept: Sequence[cal.Scored], n_truths: int) -> dict[str, Any]:
    hits = sum(s.hit for s in kept)
    return {"precision": _r(hits / len(kept)) if kept else None,
            "recall": _r(hits / n_truths) if n_truths else None, "truths": n_truths}


def _r(value: float) -> float:
    return round(value, 4)


def ultralytics_map(model_path: Path, data_yaml: Path, split: str, imgsz: int) -> dict[str, Any]:
    """mAP50 and mAP50-95, overall and per class, from ultralytics' own validator (letterboxed
    input, its own NMS settings): comparable with published YOLO numbers."""
    yolo = loader.load_yolo(model_path)
    yolo.add_callback("on_val_start", use_all_cores)
    runs = Path(tempfile.gettempdir()) / "insp-val"  # ultralytics wants a run folder
    with tempfile.TemporaryDirectory() as scratch:
        data = validator_data_yaml(data_yaml, Path(scratch))
        metrics = yolo.val(data=str(data), split=split, imgsz=imgsz, batch=8, device="cpu",
                           plots=False, verbose=False, workers=0, project=str(runs), name="val",
                           exist_ok=True)
    names = loader.class_names(yolo)
    per_class = {names[int(c)]: {"mAP50": _r(float(metrics.box.ap50[i])),
                                 "mAP50-95": _r(float(metrics.box.ap[i]))}
                 for i, c in enumerate(metrics.box.ap_class_index)}
    return {"mAP50": _r(float(metrics.box.map50)), "mAP50-95": _r(float(metrics.box.map)),
            "per_class": per_class}


def lighting_comparison(
    yolo: Any, data_yaml: Path, split: str, imgsz: int, config: PreprocessConfig,
    thresholds: Mapping[int, float], scored: Scoring,
) -> dict[str, dict[str, Any]]:
    """The same split predicted with `normalize_lighting` off and on, at the same thresholds;
    `scored` is the split already predicted with `config`, reused for its own setting."""
    report: dict[str, dict[str, Any]] = {}
    for label, flag in (("off", False), ("on", True)):
        variant = replace(config, normalize_lighting=flag)
        scoring = (scored if flag == config.normalize_lighting
                   else score_split(yolo, data_yaml, split, imgsz, variant))
        metrics = subset_metrics(scoring, thresholds)
        report[label] = {name: {k: metrics[name][k] for k in ("precision", "recall", "images")}
                         | {c: metrics[name][c]["recall"] for c in scoring.class_names}
                         for name in LIGHTING_SUBSETS if name in metrics}
    return report


def thresholds_by_name(
    calibrated: Mapping[int, cal.ClassThreshold], names: Sequence[str],
) -> dict[str, float]:
    return {names[c]: round(t.threshold, 4) for c, t in calibrated.items()}


def calibration_rows(
    calibrated: Mapping[int, cal.ClassThreshold], names: Sequence[str],
) -> dict[str, dict[str, Any]]:
    return {names[c]: {"threshold": _r(t.threshold), "precision": _r(t.precision),
                       "precision_low": _r(t.precision_low),
                       "recall": _r(t.recall), "target_precision": t.target,
                       "target_reached": t.reached,
                       "truths": t.ground_truths, "detections": t.detections}
            for c, t in calibrated.items()}


def _damage_by_board(scoring: Scoring, cut: Mapping[int, float]) -> dict[str, dict[str, Any]]:
    """Only for a data set with a `damage` class (the generator's)."""
    if "damage" not in scoring.class_names:
        return {}
    return damage_by_board(scoring.samples, scoring.predictions.detections, cut,
                           scoring.class_names.index("damage"))


def evaluate(
    model_path: Path, data_yaml: Path, split: str, calibration: tuple[Path, str],
    targets: PrecisionTargets, config: PreprocessConfig, imgsz: int | None = None,
) -> dict[str, Any]:
    """The full report: mAP (ultralytics) on `split`; thresholds calibrated on `calibration`
    (a data.yaml and split); per-subset precision/recall and the lighting comparison on `split`.
    `imgsz` defaults to the size the weights were trained at."""
    yolo = loader.load_yolo(model_path)
    imgsz = imgsz or loader.input_size(yolo, model_path)
    calibration_scoring = score_split(yolo, *calibration, imgsz, config)
    calibrated = calibrate(calibration_scoring, targets)
    cut = {c: t.threshold for c, t in calibrated.items()}
    scoring = score_split(yolo, data_yaml, split, imgsz, config)
    return {
        "model": str(model_path), "data": str(data_yaml), "split": split, "imgsz": imgsz,
        "class_names": list(scoring.class_names),
        "images": len(scoring.samples), "normalize_lighting": config.normalize_lighting,
        "nms_iou": settings.INFERENCE_NMS_IOU,
        "map": ultralytics_map(model_path, data_yaml, split, imgsz),
        "calibration": {"data": str(calibration[0]), "split": calibration[1],
                        "images": len(calibration_scoring.samples),
                        "target_precision": targets.default,
                        "class_targets": dict(targets.per_class),
                        "classes": calibration_rows(calibrated, scoring.class_names)},
        "subsets": subset_metrics(scoring, cut),
        "damage_by_board": _damage_by_board(scoring, cut),
        "lighting_normalization": lighting_comparison(yolo, data_yaml, split, imgsz, config, cut,
                                                      scoring),
    }
