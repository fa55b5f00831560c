"""What the demo needs in the database: a facility with the bundled default model (or, without
its weights, an untrained dev model built locally) and an API key; made by the same services as
the commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from inspection.inference import registry
from inspection.models import ModelVersion
from inspection.services.api_keys import issue_api_key
from inspection.services.default_model import bundled_model
from inspection.services.facilities import create_facility

DEMO_FACILITY = "demo-dc"
DEV_MODEL_PATH = Path(settings.VAR_DIR) / "models" / "dev-untrained.pt"


@dataclass(frozen=True)
class DemoSetup:
    facility_slug: str
    api_key: str
    model_label: str


def prepare() -> DemoSetup:
    model = bundled_model() or dev_model()
    facility = create_facility(DEMO_FACILITY, "Demo distribution center", model)
    _, raw = issue_api_key("demo", [facility])
    return DemoSetup(facility.slug, raw, describe_model(model))


def dev_model() -> ModelVersion:
    """Random weights: the plumbing runs without the committed default model."""
    if not DEV_MODEL_PATH.is_file():
        registry.build_untrained_model(DEV_MODEL_PATH)
    return registry.register_model(DEV_MODEL_PATH, name="dev-untrained", version="local")


def describe_model(model: ModelVersion) -> str:
    note = (
        " (random weights: plumbing only, detects nothing)" if model.name == "dev-untrained" else ""
    )
    return f"{model}{note} classes={model.class_names}"
