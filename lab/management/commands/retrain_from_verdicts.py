"""`manage.py retrain_from_verdicts --facility SLUG --since DATE`: fine-tune the facility's active
model on its reviewed and audited images since DATE and register the result as a candidate
model version (calibrated on the verdicts' val split, not activated); `--shadow` also sets it
as the facility's shadow model. Logic in lab/training/retrain.py; docs/learning.md."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from inspection.calibration.offline import configure_offline
from inspection.calibration.targets import TargetError, targets_from_options
from inspection.inference.registry import ModelConflict, ModelRejected
from inspection.learning.verdict_dataset import MIN_IMAGES
from inspection.management.base import InspectionCommand
from inspection.management.targets import add_target_arguments
from inspection.services import DomainError
from inspection.services.facilities import facility_by_slug
from lab.management.arguments import positive

if TYPE_CHECKING:
    from lab.training.retrain import RetrainPlan

DEFAULT_EPOCHS = 20
DEFAULT_LR0 = 0.001  # docs/training.md: lower than from scratch when continuing


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


class Command(InspectionCommand):
    help = (
        "Fine-tune a facility's active model on its reviewed and audited images since a date "
        "and register the result as a candidate (not activated)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--facility", required=True, metavar="SLUG")
        parser.add_argument("--since", required=True, type=day, metavar="YYYY-MM-DD")
        parser.add_argument("--epochs", type=positive, default=DEFAULT_EPOCHS)
        parser.add_argument(
            "--imgsz", type=positive, help="Training and serving size (default: the model's)."
        )
        parser.add_argument("--batch", type=positive, default=16)
        parser.add_argument("--lr0", type=float, default=DEFAULT_LR0)
        parser.add_argument("--device", default="cpu", help="cpu, or a CUDA index such as 0.")
        parser.add_argument("--name", help="Model name to register (default: <base>-retrained).")
        parser.add_argument(
            "--min-images",
            type=positive,
            default=MIN_IMAGES,
            help=f"Refuse with fewer usable images (default {MIN_IMAGES}).",
        )
        parser.add_argument(
            "--work-dir",
            type=Path,
            help="Data set, run and weights (kept: the candidate is registered from here; "
            "default var/retrain/<facility>-<time>).",
        )
        parser.add_argument(
            "--shadow",
            action="store_true",
            help="Also set the candidate as the facility's shadow model.",
        )
        add_target_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        configure_offline()
        from lab.training import retrain

        missing = retrain.missing_lab_packages()
        if missing:
            raise CommandError(
                f"the model lab is not installed (missing {', '.join(missing)}): "
                "pip install --require-hashes -r requirements/lab.txt"
            )
        try:
            plan = self._plan(options)
            done = retrain.retrain(plan)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        except (ModelRejected, ModelConflict, TargetError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(retrain.summary(done))

    def _plan(self, options: dict[str, Any]) -> RetrainPlan:
        from lab.training.retrain import RetrainPlan, base_model
        from lab.training.train import TrainSettings

        facility = facility_by_slug(options["facility"], create=False)
        base = base_model(facility)
        targets = targets_from_options(options["target_precision"], options["class_precision"])
        targets.check_classes(base.class_names)
        train = TrainSettings(
            epochs=options["epochs"],
            imgsz=options["imgsz"] or base.input_size,
            batch=options["batch"],
            lr0=options["lr0"],
            device=str(options["device"]),
        )
        return RetrainPlan(
            facility,
            options["since"],
            train,
            options["work_dir"] or default_work_dir(facility.slug),
            options["name"],
            options["min_images"],
            targets,
            options["shadow"],
        )


def default_work_dir(slug: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(settings.BASE_DIR) / "var" / "retrain" / f"{slug}-{stamp}"
