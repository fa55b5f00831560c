"""Model registry: register weights (checksum, format, classes, input size read through the
workers' own loader), activate a version for a facility, and build an untrained dev model."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

from django.db import transaction

from inspection.inference import loader
from inspection.models import Facility, ModelVersion

logger = logging.getLogger(__name__)

DEV_CLASS_NAMES = ("parcel", "label", "damage")


class ModelConflict(Exception):
    """The name and version are registered already, for other weights."""


def checksum(path: Path) -> str:
    """sha256 of a file, or of every file of an export folder (relative names included)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def register_model(
    path: Path | str, name: str, version: str, input_size: int | None = None
) -> ModelVersion:
    """Register a model version; registering the same weights again returns the existing row."""
    path = Path(path).resolve()
    fmt = loader.detect_format(path)
    digest = checksum(path)
    existing = ModelVersion.objects.filter(name=name, version=version).first()
    if existing is not None:
        if existing.checksum != digest:
            raise ModelConflict(f"{name}:{version} is registered with other weights")
        return existing
    yolo = loader.load_yolo(path)
    return ModelVersion.objects.create(
        name=name,
        version=version,
        file_path=str(path),
        format=fmt,
        class_names=loader.class_names(yolo),
        input_size=input_size or loader.input_size(yolo, path),
        checksum=digest,
    )


def activate_model(facility: Facility, model_version: ModelVersion) -> None:
    with transaction.atomic():
        Facility.objects.filter(pk=facility.pk).update(active_model=model_version)
    facility.active_model = model_version
    logger.info("model %s active for facility %s", model_version, facility.slug)


def build_untrained_model(
    path: Path | str, class_names: Sequence[str] = DEV_CLASS_NAMES, seed: int = 0
) -> Path:
    """A yolov8n with random (seeded) weights and our class names: plumbing only, no downloads."""
    import torch

    YOLO = loader.import_ultralytics().YOLO
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(seed)
    yolo = YOLO("yolov8n.yaml", task="detect")
    network = DetectionModel("yolov8n.yaml", nc=len(class_names), verbose=False)
    network.names = dict(enumerate(class_names))
    network.args = {"task": "detect", "imgsz": loader.DEFAULT_INPUT_SIZE}
    yolo.model = network
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    yolo.save(str(path))
    return path
