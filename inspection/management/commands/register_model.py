"""Register a model version (`.pt`, `.onnx` or an OpenVINO folder), optionally activating it.
Registration loads the model as the workers do and runs one prediction on a bundled photo; this
prints what it found. A model that cannot run is refused with one line saying why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspection.inference import registry
from inspection.models import Facility

# A long class list (80 COCO classes) is shown as its first few names and a count.
CLASSES_SHOWN = 8


class Command(BaseCommand):
    help = "Register model weights; --activate-for SLUG makes it a facility's active model."

    def add_base_argument(self, parser: Any, *args: Any, **kwargs: Any) -> None:
        # --version names the model version here, not Django's version.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", required=True, help=".pt, .onnx or an OpenVINO folder")
        parser.add_argument("--name", required=True)
        parser.add_argument("--version", required=True, dest="model_version")
        parser.add_argument("--input-size", type=int, default=None)
        parser.add_argument("--activate-for", default=None, metavar="SLUG")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            registration = registry.register(
                options["path"], options["name"], options["model_version"], options["input_size"]
            )
        except (registry.ModelRejected, registry.ModelConflict) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("\n".join(describe(registration)))
        if slug := options["activate_for"]:
            facility = Facility.objects.filter(slug=slug).first()
            if facility is None:
                raise CommandError(f"no facility {slug!r}")
            registry.activate_model(facility, registration.model)
            self.stdout.write(f"active for {slug}")


def describe(registration: registry.Registration) -> list[str]:
    model, probe = registration.model, registration.probe
    done = "registered" if registration.created else "already registered (same weights)"
    return [
        f"{done}: {model} (id {model.pk})",
        f"  format:     {probe.format} ({probe.runtime} on {probe.device})",
        f"  classes:    {classes(probe.class_names)}",
        f"  input size: {probe.input_size} px",
        f"  probe:      {probe.boxes} boxes on {probe.image} in {probe.predict_ms:.0f} ms "
        f"(load and warm-up {probe.load_ms:.0f} ms)",
    ]


def classes(names: Sequence[str]) -> str:
    shown = ", ".join(names[:CLASSES_SHOWN])
    more = len(names) - CLASSES_SHOWN
    return f"{len(names)}: {shown}" + (f", ... (+{more} more)" if more > 0 else "")
