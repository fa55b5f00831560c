"""`manage.py activate_model --facility SLUG (--default | --model-version ID)`

Makes a registered model (or the bundled default one) the facility's active model. Its
thresholds are the facility's active policy version for that model if it has one, else the ones
the model was registered with."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.management.base import InspectionCommand
from inspection.management.commands.create_facility import model_version_or_error
from inspection.services import DomainError
from inspection.services.default_model import bundled_model
from inspection.services.facilities import describe, facility_by_slug, provide_model


class Command(InspectionCommand):
    help = "Make a registered model (or the bundled default model) a facility's active model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--facility", required=True, metavar="SLUG")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--default", action="store_true", help="The bundled default model.")
        which.add_argument(
            "--model-version", metavar="ID|NAME:VERSION", help="A registered model version."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            facility = facility_by_slug(options["facility"], create=False)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        model = model_version_or_error(options["model_version"])
        if model is None and bundled_model() is None:
            raise CommandError("The bundled default model is missing (DEFAULT_MODEL_PATH).")
        provide_model(facility, model)
        self.stdout.write(describe(facility))
