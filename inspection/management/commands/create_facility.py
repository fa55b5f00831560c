"""`manage.py create_facility SLUG [--name NAME] [--model-version ID]`

Creates a facility (or finds the existing one) with an active model: the one named, else the
bundled default model with its calibrated thresholds."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.inference.registry import model_by_ref
from inspection.management.base import InspectionCommand
from inspection.models import ModelVersion
from inspection.services import DomainError
from inspection.services.facilities import create_facility, describe


class Command(InspectionCommand):
    help = "Create a facility; it gets the bundled default model unless --model-version is given."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Short name used in the API (letters, digits, -, _).")
        parser.add_argument("--name", default="", help="Display name (default: the slug).")
        parser.add_argument(
            "--model-version", metavar="ID|NAME:VERSION", help="A registered model version."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        model = model_version_or_error(options["model_version"])
        try:
            facility = create_facility(options["slug"], options["name"], model)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(describe(facility))


def model_version_or_error(ref: str | None) -> ModelVersion | None:
    """A registered model by id or by `name:version`, as register_model and list_models show."""
    if ref is None:
        return None
    model = model_by_ref(ref)
    if model is None:
        raise CommandError(f"No model version {ref!r} (manage.py list_models shows them).")
    return model
