"""`manage.py create_facility SLUG [--name NAME] [--model-version ID]`

Creates a facility (or finds the existing one) with an active model: the one named, else the
bundled default model with its calibrated thresholds."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.management.base import InspectionCommand
from inspection.models import ModelVersion
from inspection.services.facilities import create_facility, describe


class Command(InspectionCommand):
    help = "Create a facility; it gets the bundled default model unless --model-version is given."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Short name used in the API (letters, digits, -, _).")
        parser.add_argument("--name", default="", help="Display name (default: the slug).")
        parser.add_argument("--model-version", type=int, help="A registered model version id.")

    def handle(self, *args: Any, **options: Any) -> None:
        model = model_version_or_error(options["model_version"])
        facility = create_facility(options["slug"], options["name"], model)
        self.stdout.write(describe(facility))


def model_version_or_error(model_id: int | None) -> ModelVersion | None:
    if model_id is None:
        return None
    model = ModelVersion.objects.filter(pk=model_id).first()
    if model is None:
        raise CommandError(f"No model version {model_id} (manage.py register_model lists ids).")
    return model
