"""The precision-target options shared by `calibrate_thresholds` and `evaluate_model`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.training.targets import PrecisionTargets, TargetError, targets_from_options


def add_target_arguments(parser: CommandParser) -> None:
    parser.add_argument("--target-precision", type=float, default=0.95,
                        help="Precision every class's threshold must reach (default 0.95).")
    parser.add_argument("--class-precision", action="append", metavar="CLASS=P",
                        help="Another target for one class, e.g. damage=0.8 (repeatable).")


def targets_option(options: dict[str, Any]) -> PrecisionTargets:
    try:
        return targets_from_options(options["target_precision"], options["class_precision"])
    except TargetError as exc:
        raise CommandError(str(exc)) from exc
