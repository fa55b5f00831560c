"""What the demo needs in the database: a facility, its active model and policy, an API key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from inspection.inference import registry
from inspection.models import ApiKey, Facility, ModelVersion, ThresholdPolicy
from inspection.training.default_model import calibrated_thresholds

DEMO_FACILITY = "demo-dc"
DEV_MODEL_PATH = Path(settings.VAR_DIR) / "models" / "dev-untrained.pt"


@dataclass(frozen=True)
class DemoSetup:
    facility_slug: str
    api_key: str
    model_label: str


def prepare() -> DemoSetup:
    facility, _ = Facility.objects.get_or_create(
        slug=DEMO_FACILITY, defaults={"name": "Demo distribution center"}
    )
    model = ensure_model(facility)
    ensure_policy(facility, model)
    key, raw = ApiKey.generate("demo")
    key.save()
    key.facilities.set([facility])
    return DemoSetup(facility.slug, raw, describe_model(model))


def ensure_model(facility: Facility) -> ModelVersion:
    """The committed default model when present, else an untrained dev model built locally."""
    if Path(settings.DEFAULT_MODEL_PATH).is_file():
        # Versioned by content, so retrained weights register as a new version.
        path, name = Path(settings.DEFAULT_MODEL_PATH), "default"
        version = registry.checksum(path)[:12]
    else:
        path, name, version = DEV_MODEL_PATH, "dev-untrained", "local"
        if not path.is_file():
            registry.build_untrained_model(path)
    model = registry.register_model(path, name=name, version=version)
    registry.activate_model(facility, model)
    return model


def ensure_policy(facility: Facility, model: ModelVersion) -> ThresholdPolicy:
    """The model's thresholds calibrated on validation data (models/default.eval.json), when it
    has them; the policy defaults otherwise."""
    thresholds = calibrated_thresholds(Path(model.file_path))
    policy, _ = ThresholdPolicy.objects.get_or_create(
        facility=facility,
        model_version=model,
        is_active=True,
        defaults={
            "class_thresholds": thresholds,
            "note": "calibrated (model card)" if thresholds else "demo defaults",
        },
    )
    return policy


def describe_model(model: ModelVersion) -> str:
    note = (
        " (random weights: plumbing only, detects nothing)" if model.name == "dev-untrained" else ""
    )
    return f"{model}{note} classes={model.class_names}"
