"""Evaluate a detector on a generated data set: ultralytics mAP on a split, and our own
precision/recall per capture-problem subset at calibrated thresholds, on predictions made
through the service's preprocessing."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings

from inspection.calibration import thresholds as cal
from inspection.calibration.dataset import validator_data_yaml
from inspection.calibration.scoring import (
    Scoring,
    calibrate,
    calibration_rows,
    score_split,
)
from inspection.calibration.targets import PrecisionTargets
from inspection.calibration.threads import use_all_cores
from inspection.inference import loader
from inspection.preprocessing import PreprocessConfig
from lab.training.boards import damage_by_board
from lab.training.subsets import SUBSET_ORDER, subsets_of

LIGHTING_SUBSETS = ("dark", "glare", "clean", "all")


def subset_metrics(
    scoring: Scoring,
    thresholds: Mapping[int, float],
) -> dict[str, dict[str, Any]]:
    """Precision/recall per subset, overall and per class, of the detections at or above their
    class threshold."""
    members = {s.image: subsets_of(s.problems) for s in scoring.samples}
    return {
        name: _subset(scoring, {i for i, m in members.items() if name in m}, thresholds)
        for name in SUBSET_ORDER
        if any(name in m for m in members.values())
    }


def _subset(
    scoring: Scoring,
    images: set[str],
    thresholds: Mapping[int, float],
) -> dict[str, Any]:
    kept = [
        s
        for s in scoring.scored
        if s.image in images and s.confidence >= thresholds.get(s.class_id, 1.0)
    ]
    truths = [t for t in scoring.truths if t.image in images]
    row: dict[str, Any] = {
        "images": len(images),
        "rejected": sum(i in images for i in scoring.predictions.rejected),
        **_pr(kept, len(truths)),
    }
    for c, class_name in enumerate(scoring.class_names):
        row[class_name] = _pr(
            [s for s in kept if s.class_id == c], sum(t.class_id == c for t in truths)
        )
    return row


def _pr(kept: Sequence[cal.Scored], n_truths: int) -> dict[str, Any]:
    hits = sum(s.hit for s in kept)
    return {
        "precision": _r(hits / len(kept)) if kept else None,
        "recall": _r(hits / n_truths) if n_truths else None,
        "truths": n_truths,
    }


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
        metrics = yolo.val(
            data=str(data),
            split=split,
            imgsz=imgsz,
            batch=8,
            device="cpu",
            plots=False,
            verbose=False,
            workers=0,
            project=str(runs),
            name="val",
            exist_ok=True,
        )
    names = loader.class_names(yolo)
    per_class = {
        names[int(c)]: {
            "mAP50": _r(float(metrics.box.ap50[i])),
            "mAP50-95": _r(float(metrics.box.ap[i])),
        }
        for i, c in enumerate(metrics.box.ap_class_index)
    }
    return {
        "mAP50": _r(float(metrics.box.map50)),
        "mAP50-95": _r(float(metrics.box.map)),
        "per_class": per_class,
    }


def lighting_comparison(
    yolo: Any,
    data_yaml: Path,
    split: str,
    imgsz: int,
    config: PreprocessConfig,
    thresholds: Mapping[int, float],
    scored: Scoring,
) -> dict[str, dict[str, Any]]:
    """The same split predicted with `normalize_lighting` off and on, at the same thresholds;
    `scored` is the split already predicted with `config`, reused for its own setting."""
    report: dict[str, dict[str, Any]] = {}
    for label, flag in (("off", False), ("on", True)):
        variant = replace(config, normalize_lighting=flag)
        scoring = (
            scored
            if flag == config.normalize_lighting
            else score_split(yolo, data_yaml, split, imgsz, variant)
        )
        metrics = subset_metrics(scoring, thresholds)
        report[label] = {
            name: {k: metrics[name][k] for k in ("precision", "recall", "images")}
            | {c: metrics[name][c]["recall"] for c in scoring.class_names}
            for name in LIGHTING_SUBSETS
            if name in metrics
        }
    return report


def _damage_by_board(scoring: Scoring, cut: Mapping[int, float]) -> dict[str, dict[str, Any]]:
    """Only for a data set with a `damage` class (the generator's)."""
    if "damage" not in scoring.class_names:
        return {}
    return damage_by_board(
        scoring.samples, scoring.predictions.detections, cut, scoring.class_names.index("damage")
    )


def evaluate(
    model_path: Path,
    data_yaml: Path,
    split: str,
    calibration: tuple[Path, str],
    targets: PrecisionTargets,
    config: PreprocessConfig,
    imgsz: int | None = None,
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
        "model": str(model_path),
        "data": str(data_yaml),
        "split": split,
        "imgsz": imgsz,
        "class_names": list(scoring.class_names),
        "images": len(scoring.samples),
        "normalize_lighting": config.normalize_lighting,
        "nms_iou": settings.INFERENCE_NMS_IOU,
        "map": ultralytics_map(model_path, data_yaml, split, imgsz),
        "calibration": {
            "data": str(calibration[0]),
            "split": calibration[1],
            "images": len(calibration_scoring.samples),
            "target_precision": targets.default,
            "class_targets": dict(targets.per_class),
            "classes": calibration_rows(calibrated, scoring.class_names),
        },
        "subsets": subset_metrics(scoring, cut),
        "damage_by_board": _damage_by_board(scoring, cut),
        "lighting_normalization": lighting_comparison(
            yolo, data_yaml, split, imgsz, config, cut, scoring
        ),
    }
