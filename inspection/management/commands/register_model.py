"""Register a model version (`.pt`, `.onnx` or an OpenVINO folder), optionally activating it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspection.inference import registry
from inspection.models import Facility


class Command(BaseCommand):
    help = "Register model weights; --activate-for SLUG makes it a facility's active model."

    def add_base_argument(self, parser: Any, *args: Any, **kwargs: Any) -> None:
        # --version names the model version here, not Django's version.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--version", required=True, dest="model_version")
        parser.add_argument("--input-size", type=int, default=None)
        parser.add_argument("--activate-for", default=None, metavar="SLUG")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            model = registry.register_model(
                options["path"], options["name"], options["model_version"], options["input_size"]
            )
        except (OSError, ValueError, registry.ModelConflict) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"registered {model} ({model.format}, {model.class_names}, {model.input_size}px)"
        )
        if slug := options["activate_for"]:
            facility = Facility.objects.filter(slug=slug).first()
            if facility is None:
                raise CommandError(f"no facility {slug!r}")
            registry.activate_model(facility, model)
            self.stdout.write(f"active for {slug}")
