"""`manage.py evaluate_model`: mAP per class, precision/recall per capture problem at calibrated
thresholds, and the lighting-normalisation comparison, on a YOLO data set (capture problems are
known only for a generated one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from inspection.calibration.offline import configure_offline
from inspection.management.base import Database, InspectionCommand
from inspection.management.targets import add_target_arguments, data_set_errors, targets_option
from inspection.preprocessing import PreprocessConfig


class Command(InspectionCommand):
    help = (
        "Evaluate a detector on a YOLO data set, per capture problem when generate_dataset / "
        "train_default_model wrote it (thresholds are calibrated on --calibration-split)."
    )
    database = Database.UNUSED

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", type=Path, required=True)
        parser.add_argument("--data", type=Path, required=True, help="The data set's data.yaml.")
        parser.add_argument("--split", default="test")
        parser.add_argument("--calibration-split", default="val")
        parser.add_argument(
            "--calibration-data",
            type=Path,
            help="Calibrate on this data.yaml instead of --data (for a data set "
            "with no val split).",
        )
        add_target_arguments(parser)
        parser.add_argument(
            "--imgsz",
            type=int,
            help="Input size to evaluate at (default: the size it was trained at); "
            "register the model with the same --input-size.",
        )
        parser.add_argument("--json", type=Path, help="Also write the report here.")
        parser.add_argument(
            "--markdown",
            type=Path,
            help="Also write the report as model-card tables (Markdown) here.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        targets = targets_option(options, options["data"])
        configure_offline()
        from lab.training.card import render_card_tables
        from lab.training.evaluate import evaluate
        from lab.training.report import render_report

        calibration = (options["calibration_data"] or options["data"], options["calibration_split"])
        with data_set_errors():
            report = evaluate(
                options["model"],
                options["data"],
                options["split"],
                calibration,
                targets,
                PreprocessConfig.from_settings(),
                options["imgsz"],
            )
        self.stdout.write(render_report(report))
        if options["json"]:
            options["json"].write_text(json.dumps(report, indent=1) + "\n")
            self.stdout.write(f"Wrote {options['json']}")
        if options["markdown"]:
            options["markdown"].write_text(render_card_tables(report))
            self.stdout.write(f"Wrote {options['markdown']}")
