"""What the demo needs in the database: a facility, its active model and policy, an API key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from inspection.inference import registry
from inspection.models import ApiKey, Facility, ModelVersion, ThresholdPolicy

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
    ThresholdPolicy.objects.get_or_create(
        facility=facility, model_version=None, is_active=True, defaults={"note": "demo defaults"}
    )
    key, raw = ApiKey.generate("demo")
    key.save()
    key.facilities.set([facility])
    return DemoSetup(facility.slug, raw, describe_model(model))


def ensure_model(facility: Facility) -> ModelVersion:
    """The committed default model when present, else an untrained dev model built locally."""
    if Path(settings.DEFAULT_MODEL_PATH).is_file():
        path, name, version = Path(settings.DEFAULT_MODEL_PATH), "default", "committed"
    else:
        path, name, version = DEV_MODEL_PATH, "dev-untrained", "local"
        if not path.is_file():
            registry.build_untrained_model(path)
    model = registry.register_model(path, name=name, version=version)
    registry.activate_model(facility, model)
    return model


def describe_model(model: ModelVersion) -> str:
    note = (
        " (random weights: plumbing only, detects nothing)" if model.name == "dev-untrained" else ""
    )
    return f"{model}{note} classes={model.class_names}"
