"""The bundled default detector (models/default.pt by default, DEFAULT_MODEL_PATH). It is
registered from its evaluation record beside the weights (default.eval.json: classes, input size
and the thresholds calibrated for the model card's target precision) without loading it, so a web
process can give a new facility a working, calibrated model without importing torch."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from inspection.inference.registry import checksum
from inspection.models import ModelVersion, ThresholdSource

NAME = "default"
# The version is the start of the weights' sha256: retrained weights register as a new version.
VERSION_LENGTH = 12


def evaluation_path(weights: Path) -> Path:
    return weights.with_name(weights.stem + ".eval.json")


def calibrated_thresholds(weights: Path) -> dict[str, float]:
    """Class name -> threshold calibrated for the card's target precision ({} when absent)."""
    record = _evaluation(weights)
    classes = record.get("calibration", {}).get("classes", {})
    return {name: float(row["threshold"]) for name, row in classes.items()}


def _evaluation(weights: Path) -> dict[str, Any]:
    path = evaluation_path(weights)
    return json.loads(path.read_text()) if path.is_file() else {}


@cache
def _checksum(path: Path, size: int, mtime_ns: int) -> str:
    return checksum(path)


def weights_checksum(path: Path) -> str:
    """sha256 of the weights, computed once per file state in this process."""
    stat = path.stat()
    return _checksum(path, stat.st_size, stat.st_mtime_ns)


def bundled_model() -> ModelVersion | None:
    """The registered default model (registered now if it is not yet); None when the weights or
    their evaluation record are missing (then a facility needs a model registered by hand)."""
    path = Path(settings.DEFAULT_MODEL_PATH).resolve()
    record = _evaluation(path) if path.is_file() else {}
    if not record.get("class_names"):
        return None
    digest = weights_checksum(path)
    version = digest[:VERSION_LENGTH]
    existing = ModelVersion.objects.filter(name=NAME, version=version).first()
    return existing or _register(path, digest, version, record)


def _register(path: Path, digest: str, version: str, record: dict[str, Any]) -> ModelVersion:
    thresholds = calibrated_thresholds(path)
    calibration = record.get("calibration", {})
    fields = {
        "file_path": str(path),
        "format": ModelVersion.Format.PYTORCH,
        "class_names": list(record["class_names"]),
        "input_size": int(record.get("imgsz") or 640),
        "checksum": digest,
        "threshold_source": ThresholdSource.CALIBRATED
        if thresholds
        else ThresholdSource.REVIEW_ALL,
        "class_thresholds": thresholds,
        "threshold_note": _note(calibration) if thresholds else "",
    }
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(name=NAME, version=version, **fields)
    except IntegrityError:  # registered by a concurrent request a moment ago
        return ModelVersion.objects.get(name=NAME, version=version)


def _note(calibration: dict[str, Any]) -> str:
    return (
        f"calibrated for precision {calibration.get('target_precision')} on "
        f"{calibration.get('images')} labelled images (model card)"
    )
