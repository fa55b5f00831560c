"""`manage.py set_thresholds --facility SLUG [--model-version ID|NAME:VERSION] (--class NAME=T ...
[--default T] | --default T | --thresholds-file FILE | --review-all | --from-model)
[--min-confidence F] [--note TEXT]`

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
from inspection.models import Facility, ModelVersion, ThresholdPolicy
from inspection.services import DomainError
from inspection.services.facilities import facility_by_slug
from inspection.services.policies import ThresholdChange, save_policy_version


class Command(InspectionCommand):
    help = "Set a facility's per-class thresholds for a model, as a new policy version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--facility", required=True, metavar="SLUG")
        parser.add_argument(
            "--model-version",
            metavar="ID|NAME:VERSION",
            help="A registered model version (default: the active model).",
        )
        add_threshold_arguments(parser)
        parser.add_argument(
            "--from-model",
            action="store_true",
            help="Back to the thresholds the model was registered with (as a new version).",
        )
        parser.add_argument(
            "--min-confidence",
            type=float,
            help="Below this a box is noise and dropped (default: kept).",
        )
        parser.add_argument("--note", default="", help="Why (kept with the version).")

    def handle(self, *args: Any, **options: Any) -> None:
        if given(options) == options["from_model"]:
            raise CommandError(
                "Say what to set, once: --class NAME=T, --default T, --thresholds-file FILE, "
                "--review-all or --from-model."
            )
        try:
            facility = facility_by_slug(options["facility"], create=False)
            model = self._model(facility, options["model_version"])
            change = self._change(model, options)
            policy = save_policy_version(facility, model, change, created_by=_who())
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(
            f"Saved policy v{policy.version} for {facility.slug} / {model} (active): "
            f"{_described(policy)}."
        )

    def _change(self, model: ModelVersion, options: dict[str, Any]) -> ThresholdChange:
        fields = {"min_confidence": options["min_confidence"], "note": options["note"]}
        if not options["from_model"]:
            return threshold_change(options, **fields)
        return ThresholdChange(
            model.threshold_source,
            dict(model.class_thresholds),
            model.default_threshold,
            **{**fields, "note": options["note"] or "the model's registration thresholds"},
        )

    def _model(self, facility: Facility, model_id: str | None) -> ModelVersion:
        model = model_version_or_error(model_id) or facility.active_model
        if model is None:
            raise CommandError(
                f"Facility {facility.slug} has no active model: name one with --model-version."
            )
        return model


def _described(policy: ThresholdPolicy) -> str:
    if policy.review_all:
        return "review_all: every image goes to review"
    state = "calibrated" if policy.is_calibrated else "UNCALIBRATED"
    return (
        f"{policy.source}, default {policy.default_threshold}, classes "
        f"{policy.class_thresholds or '{}'}, min confidence {policy.min_confidence} ({state})"
    )


def _who() -> str:
    return f"manage.py set_thresholds ({getpass.getuser()})"
