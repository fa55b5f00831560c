"""Model registry: register weights (checksum, then a probe through the workers' own loader that
reads format, classes and input size and runs one prediction), activate a version for a
facility, and build an untrained dev model."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from inspection.inference import loader
from inspection.inference.probe import ModelProbe, model_format, probe_model
from inspection.inference.probe import ModelRejected as ModelRejected
from inspection.models import Facility, ModelVersion, ThresholdSource
from inspection.services.policies import ThresholdChange, model_threshold_fields

logger = logging.getLogger(__name__)

DEV_CLASS_NAMES = ("parcel", "label", "damage")


class ModelConflict(Exception):
    """The name and version are registered already, for other weights."""


@dataclass(frozen=True)
class Registration:
    model: ModelVersion
    probe: ModelProbe
    created: bool


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


def model_by_ref(ref: str) -> ModelVersion | None:
    """A registered model by id or by `name:version`, as register_model and list_models show."""
    name, sep, version = ref.partition(":")
    if sep:
        return ModelVersion.objects.filter(name=name, version=version).first()
    return ModelVersion.objects.filter(pk=int(ref)).first() if ref.isdigit() else None


def register(
    path: Path | str,
    name: str,
    version: str,
    input_size: int | None = None,
    thresholds: ThresholdChange | None = None,
) -> Registration:
    """Register a model version, probing it every time (also when these weights are registered
    already) so the caller can always show what it is and what it found. `thresholds` are what
    a facility gets until it sets its own (None: everything to review). Raises ModelRejected,
    ModelConflict or InvalidThresholds (classes the model does not have, a class left out)."""
    path = Path(path).resolve()
    existing = _existing(path, name, version)
    probe = probe_model(path, input_size)
    model = existing or _create(path, name, version, probe, thresholds)
    return Registration(model, probe, created=existing is None)


def register_model(
    path: Path | str,
    name: str,
    version: str,
    input_size: int | None = None,
    thresholds: ThresholdChange | None = None,
) -> ModelVersion:
    """Register a model version (probed: it must load and predict); the same weights again
    return the existing row, which was probed when it was created."""
    path = Path(path).resolve()
    existing = _existing(path, name, version)
    return existing or _create(path, name, version, probe_model(path, input_size), thresholds)


def _existing(path: Path, name: str, version: str) -> ModelVersion | None:
    model_format(path)  # a missing or unsupported path is refused before it is read
    existing = ModelVersion.objects.filter(name=name, version=version).first()
    if existing is not None and existing.checksum != checksum(path):
        raise ModelConflict(
            f"{name}:{version} is registered with other weights: register these under another "
            f"--version (manage.py list_models shows what is registered)"
        )
    return existing


def _create(
    path: Path, name: str, version: str, probe: ModelProbe, thresholds: ThresholdChange | None
) -> ModelVersion:
    chosen = thresholds or ThresholdChange(ThresholdSource.REVIEW_ALL)
    return ModelVersion.objects.create(
        name=name,
        version=version,
        file_path=str(path),
        format=probe.format,
        class_names=probe.class_names,
        input_size=probe.input_size,
        checksum=checksum(path),
        **model_threshold_fields(chosen, probe.class_names),
    )


def activate_model(facility: Facility, model_version: ModelVersion) -> None:
    """Make a version the facility's active model. Inference processes notice within a few
    seconds and load and warm it before it is needed (runtime's model watcher)."""
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
    # torch types Module.__setattr__'s value as Tensor | Module; any attribute may be set, and
    # ultralytics reads `args` from its models.
    network.args = {"task": "detect", "imgsz": loader.DEFAULT_INPUT_SIZE}  # type: ignore[assignment]
    yolo.model = network
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    yolo.save(str(path))
    return path
