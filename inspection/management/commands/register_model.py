"""Register a model version (`.pt`, `.onnx` or an OpenVINO folder), optionally activating it.
Registration loads the model as the workers do and runs one prediction on a bundled photo; this
prints what it found. A model that cannot run is refused with one line saying why.

Its thresholds are chosen here, never silently: `--default T` (one threshold for every class),
`--class NAME=T` (repeat; with `--default` for the rest) or `--thresholds-file FILE`; without a
choice (or with `--review-all`) every image of the model goes to review until a facility sets
thresholds (set_thresholds, calibrate_thresholds)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.inference import registry
from inspection.inference.probe import ModelProbe
from inspection.management.base import InspectionCommand
from inspection.management.thresholds import add_threshold_arguments, given, threshold_change
from inspection.models import Facility, ModelVersion, ThresholdSource
from inspection.services import DomainError, shadow
from inspection.services.facilities import describe as describe_facility
from inspection.services.facilities import facility_by_slug, provide_model

# A long class list (80 COCO classes) is shown as its first few names and a count.
CLASSES_SHOWN = 8


class Command(InspectionCommand):
    help = (
        "Register model weights; --activate-for SLUG makes it a facility's active model, "
        "--shadow-for SLUG its shadow model."
    )

    def add_base_argument(self, parser: Any, *args: Any, **kwargs: Any) -> None:
        # --version names the model version here, not Django's version.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", required=True, help=".pt, .onnx or an OpenVINO folder")
        parser.add_argument("--name", required=True)
        parser.add_argument("--version", required=True, dest="model_version")
        parser.add_argument("--input-size", type=int, default=None)
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--activate-for", default=None, metavar="SLUG")
        where.add_argument(
            "--shadow-for",
            default=None,
            metavar="SLUG",
            help="Run it as the facility's shadow model (compared, never routing).",
        )
        add_threshold_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        thresholds = threshold_change(options, note="chosen at registration")
        try:
            facility = self._facility(options["activate_for"])
            shadow_for = self._facility(options["shadow_for"])
            registration = registry.register(
                options["path"],
                options["name"],
                options["model_version"],
                options["input_size"],
                thresholds if given(options) else None,
            )
        except (registry.ModelRejected, registry.ModelConflict) as exc:
            raise CommandError(str(exc)) from None
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write("\n".join(describe(registration)))
        if given(options) and not registration.created:
            self.stdout.write(
                "  (the thresholds given are not applied to weights registered "
                "before: change a facility's with manage.py set_thresholds)"
            )
        if facility is not None:
            provide_model(facility, registration.model)
            self.stdout.write(describe_facility(facility))
        if shadow_for is not None:
            self._shadow(shadow_for, registration.model)

    def _shadow(self, facility: Facility, model: ModelVersion) -> None:
        try:
            shadow.set_shadow(facility, model, by="manage.py register_model")
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"{facility.slug}: shadow model {model} (compare at /review/shadow/).")

    def _facility(self, slug: str | None) -> Facility | None:
        return facility_by_slug(slug, create=False) if slug else None


def describe(registration: registry.Registration) -> list[str]:
    model, probe = registration.model, registration.probe
    done = "registered" if registration.created else "already registered (same weights)"
    return [
        f"{done}: {model} (id {model.pk})",
        f"  format:     {probe.format} ({probe.runtime} on {probe.device})",
        f"  backend:    {backend(probe)}",
        f"  classes:    {classes(probe.class_names)}",
        f"  input size: {probe.input_size} px",
        f"  probe:      {probe.boxes} boxes on {probe.image} in {probe.predict_ms:.0f} ms "
        f"(load and warm-up {probe.load_ms:.0f} ms)",
        f"  thresholds: {thresholds(model)}",
    ]


def backend(probe: ModelProbe) -> str:
    """What the workers of this host run the model on, and for `.pt` weights on another runtime,
    that it is an export of them (made here, cached; INFERENCE_BACKEND pins one)."""
    if probe.format == ModelVersion.Format.PYTORCH and probe.backend != "torch":
        return f"{probe.backend} on {probe.device} (an export of the weights, cached on this host)"
    return f"{probe.backend} on {probe.device}"


def thresholds(model: ModelVersion) -> str:
    if model.threshold_source == ThresholdSource.REVIEW_ALL:
        return (
            "none chosen: every image goes to review until a facility sets thresholds "
            "(manage.py set_thresholds, or calibrate_thresholds with labelled photos)"
        )
    own = ", ".join(f"{name} {value}" for name, value in model.class_thresholds.items())
    values = f"{own}, others {model.default_threshold}" if own else str(model.default_threshold)
    state = "calibrated" if model.is_calibrated else "UNCALIBRATED"
    return f"{model.threshold_source}: {values} ({state})"


def classes(names: Sequence[str]) -> str:
    shown = ", ".join(names[:CLASSES_SHOWN])
    more = len(names) - CLASSES_SHOWN
    return f"{len(names)}: {shown}" + (f", ... (+{more} more)" if more > 0 else "")
