"""The precision-target options shared by `calibrate_thresholds` and `evaluate_model`, checked
against the data set's classes before any model loads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.calibration.dataset import class_names_of
from inspection.calibration.targets import PrecisionTargets, TargetError, targets_from_options
from inspection.calibration.yolo_layout import DataSetError


def add_target_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--target-precision",
        type=float,
        default=0.95,
        help="Precision every class's threshold must reach (default 0.95).",
    )
    parser.add_argument(
        "--class-precision",
        action="append",
        metavar="CLASS=P",
        help="Another target for one class, e.g. damage=0.8 (repeatable).",
    )


def targets_option(options: dict[str, Any], data_yaml: Path) -> PrecisionTargets:
    """The targets, each naming one of the classes of `data_yaml`."""
    with data_set_errors():
        targets = targets_from_options(options["target_precision"], options["class_precision"])
        targets.check_classes(class_names_of(data_yaml))
        return targets


@contextmanager
def data_set_errors() -> Iterator[None]:
    """A bad target or an unreadable data set is the caller's error: its reason, no traceback."""
    try:
        yield
    except (TargetError, DataSetError) as exc:
        raise CommandError(str(exc)) from exc
