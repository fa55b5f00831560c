"""`manage.py set_thresholds --facility SLUG [--model-version ID] (--class NAME=T ... [--default
T] | --default T | --thresholds-file FILE | --review-all) [--min-confidence F] [--note TEXT]`

Sets a facility's thresholds for a model (its active model by default) without labelled data,
as a new policy version (the previous one is kept, inactive). Every class of the model needs a
threshold: its own, or the --default. To calibrate from labelled photos instead, use
`calibrate_thresholds --save`."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.management.base import InspectionCommand
from inspection.management.commands.create_facility import model_version_or_error
from inspection.management.thresholds import add_threshold_arguments, given, threshold_change
from inspection.models import Facility, ModelVersion
from inspection.services import DomainError
from inspection.services.facilities import facility_by_slug
from inspection.services.policies import save_policy_version


class Command(InspectionCommand):
    help = "Set a facility's per-class thresholds for a model, as a new policy version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--facility", required=True, metavar="SLUG")
        parser.add_argument(
            "--model-version",
            type=int,
            help="A registered model version id (default: the active model).",
        )
        add_threshold_arguments(parser)
        parser.add_argument(
            "--min-confidence",
            type=float,
            help="Below this a box is noise and dropped (default: kept).",
        )
        parser.add_argument("--note", default="", help="Why (kept with the version).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not given(options):
            raise CommandError(
                "Say what to set: --class NAME=T, --default T, "
                "--thresholds-file FILE or --review-all."
            )
        change = threshold_change(
            options, min_confidence=options["min_confidence"], note=options["note"]
        )
        try:
            facility = facility_by_slug(options["facility"], create=False)
            model = self._model(facility, options["model_version"])
            policy = save_policy_version(facility, model, change, created_by=_who())
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        state = "calibrated" if policy.is_calibrated else "UNCALIBRATED"
        self.stdout.write(
            f"Saved policy v{policy.version} for {facility.slug} / {model} (active): "
            f"{policy.source}, default {policy.default_threshold}, "
            f"classes {policy.class_thresholds or '{}'}, min confidence "
            f"{policy.min_confidence} ({state})."
        )

    def _model(self, facility: Facility, model_id: int | None) -> ModelVersion:
        model = model_version_or_error(model_id) or facility.active_model
        if model is None:
            raise CommandError(
                f"Facility {facility.slug} has no active model: name one with --model-version."
            )
        return model


def _who() -> str:
    return f"manage.py set_thresholds ({getpass.getuser()})"
