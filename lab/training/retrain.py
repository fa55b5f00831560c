"""Retrain from verdicts: a facility's reviewed and audited images since a date (exported by
inspection.learning.verdict_dataset) fine-tune its active model; the result is calibrated on
the export's val split and registered as a candidate model version, never activated
(docs/learning.md, "Retrain from verdicts").

With `shadow`, the candidate is also set as the facility's shadow model
(inspection.services.shadow.set_shadow, audited as a ModelChange by this command): it then runs
beside the active model and is compared against new verdicts before anyone promotes it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from inspection.calibration.calibrate import Calibration, run_calibration
from inspection.calibration.targets import PrecisionTargets
from inspection.inference import loader, registry
from inspection.learning.verdict_dataset import (
    MIN_IMAGES,
    RetrainRefused,
    VerdictDataset,
    export_verdicts,
    start_of,
)
from inspection.models import Facility, ModelVersion, ThresholdSource
from inspection.preprocessing import PreprocessConfig
from inspection.services.policies import DEFAULT_MIN_CONFIDENCE, ThresholdChange, active_policy
from inspection.services.shadow import set_shadow
from lab.training.train import TrainSettings, export_weights, fine_tuning, train

# What ultralytics' trainer imports beyond the service's runtime set (requirements/lab.in:
# plots with matplotlib, results tables with polars).
LAB_PACKAGES = ("matplotlib", "polars")
# The version of a retrained model: the start of its weights' sha256, as the default model's.
VERSION_LENGTH = 12

# Who set the shadow, as its audit row says.
SHADOW_AUTHOR = "command retrain_from_verdicts"


def missing_lab_packages() -> list[str]:
    return [name for name in LAB_PACKAGES if importlib.util.find_spec(name) is None]


@dataclass(frozen=True)
class RetrainPlan:
    facility: Facility
    since: date
    settings: TrainSettings
    work_dir: Path
    name: str | None = None
    min_images: int = MIN_IMAGES
    targets: PrecisionTargets = PrecisionTargets()
    shadow: bool = False


@dataclass(frozen=True)
class Retrained:
    model: ModelVersion
    base: ModelVersion
    dataset: VerdictDataset
    calibration: Calibration
    weights: Path
    epochs: int
    seconds: float
    shadow: bool


def base_model(facility: Facility) -> ModelVersion:
    """The facility's active model, which must be ultralytics weights to train from."""
    model = facility.active_model
    if model is None:
        raise RetrainRefused(f"Facility '{facility.slug}' has no active model to fine-tune.")
    if model.format != ModelVersion.Format.PYTORCH:
        raise RetrainRefused(
            f"The active model of '{facility.slug}', {model}, is an {model.format} export: "
            "fine-tuning needs its .pt weights (register and activate those)."
        )
    if not Path(model.file_path).is_file():
        raise RetrainRefused(f"The weights of {model} are not on this host: {model.file_path}")
    return model


def retrain(plan: RetrainPlan) -> Retrained:
    started = time.perf_counter()
    base = base_model(plan.facility)
    dataset = export_verdicts(
        plan.facility,
        start_of(plan.since),
        plan.work_dir / "data",
        base.class_names,
        plan.min_images,
    )
    settings = fine_tuning(plan.settings)
    run = train(
        dataset.data_yaml, settings, plan.work_dir / "runs", "retrain", Path(base.file_path)
    )
    weights = plan.work_dir / "model.pt"
    export_weights(run.best, weights)
    calibration = calibrate(weights, dataset, plan, base)
    model = register(weights, plan, base, calibration)
    if plan.shadow:
        set_shadow(plan.facility, model, by=SHADOW_AUTHOR)
    seconds = time.perf_counter() - started
    done = Retrained(
        model, base, dataset, calibration, weights, settings.epochs, seconds, plan.shadow
    )
    write_record(done, plan, run.seconds)
    return done


def calibrate(
    weights: Path, dataset: VerdictDataset, plan: RetrainPlan, base: ModelVersion
) -> Calibration:
    """Thresholds of the new weights on the export's val split, at the size they will serve at,
    with the review preview at the facility's noise floor."""
    policy = active_policy(plan.facility, base)
    floor = policy.min_confidence if policy else DEFAULT_MIN_CONFIDENCE
    yolo = loader.load_yolo(weights)
    config = PreprocessConfig.from_settings()
    return run_calibration(
        yolo, plan.settings.imgsz, dataset.data_yaml, "val", plan.targets, floor, config
    )


def register(
    weights: Path, plan: RetrainPlan, base: ModelVersion, calibration: Calibration
) -> ModelVersion:
    """A candidate: registered (probed, as every registration) with the calibrated thresholds,
    not activated."""
    # A threshold below the noise floor acts as the floor (boxes under it are dropped before
    # any threshold), and a policy refuses one: a class whose target was out of reach on a small
    # val split can calibrate that low (0.014 once).
    floor = calibration.min_confidence
    thresholds = {name: max(value, floor) for name, value in calibration.thresholds().items()}
    change = ThresholdChange(
        ThresholdSource.CALIBRATED,
        thresholds,
        note=(
            f"calibrated for precision {plan.targets.describe()} on {calibration.images} "
            f"verdict images of {plan.facility.slug} (val split), retrained from {base}"
        ),
    )
    version = hashlib.sha256(weights.read_bytes()).hexdigest()[:VERSION_LENGTH]
    name = plan.name or f"{base.name}-retrained"
    return registry.register(weights, name, version, plan.settings.imgsz, change).model


def record(done: Retrained, plan: RetrainPlan, training_seconds: float) -> dict[str, Any]:
    dataset = done.dataset
    return {
        "model": {"id": done.model.pk, "name": str(done.model), "weights": str(done.weights)},
        "base_model": {"id": done.base.pk, "name": str(done.base), "sha256": done.base.checksum},
        "facility": plan.facility.slug,
        "since": plan.since.isoformat(),
        "images": {split: len(ids) for split, ids in dataset.splits.items()},
        "split_image_ids": dataset.splits,
        "images_per_class": dict(dataset.images_per_class),
        "boxes_per_class": dict(dataset.boxes_per_class),
        "left_out_unknown_classes": dataset.unknown_classes,
        "settings": asdict(fine_tuning(plan.settings)),
        "calibration": done.calibration.as_dict(),
        "shadow": done.shadow,
        "training_seconds": round(training_seconds, 1),
        "wall_seconds": round(done.seconds, 1),
    }


def write_record(done: Retrained, plan: RetrainPlan, training_seconds: float) -> Path:
    """`model.retrain.json` beside the weights: what the candidate was trained on and how."""
    path = done.weights.with_name(done.weights.stem + ".retrain.json")
    path.write_text(json.dumps(record(done, plan, training_seconds), indent=1) + "\n")
    return path


def summary(done: Retrained) -> str:
    """The command's one-line report."""
    dataset = done.dataset
    per_class = ", ".join(
        f"{name} {dataset.images_per_class.get(name, 0)}" for name in dataset.class_names
    )
    splits = ", ".join(f"{split} {len(ids)}" for split, ids in dataset.splits.items())
    shadow = "set as shadow" if done.shadow else "not active, not shadow"
    return (
        f"Retrained {done.base} on {dataset.images} images ({splits}; images per class: "
        f"{per_class}), {done.epochs} epoch(s), {done.seconds:.1f} s: candidate "
        f"{done.model} (id {done.model.pk}), {shadow}{unreached(done.calibration)}"
    )


def unreached(calibration: Calibration) -> str:
    """Classes whose threshold missed its target on the val split (their best precision was
    kept, as calibrate_thresholds keeps it): the candidate must not be trusted for them."""
    names = [
        calibration.class_names[class_id]
        for class_id, row in calibration.classes.items()
        if not row.reached
    ]
    return f"; target precision not reached on val for {', '.join(names)}" if names else ""
