"""`manage.py demo`: the main job on one machine (see inspection/demo/runner.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.demo.runner import SAMPLES_DIR, run_demo
from inspection.management.base import Database, InspectionCommand


class Command(InspectionCommand):
    help = "Start web + workers, submit the sample batch over REST, print the results."
    database = Database.MIGRATES

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=300.0, help="Seconds to wait.")
        parser.add_argument(
            "--samples", type=Path, default=SAMPLES_DIR, help="Folder of images to submit."
        )
        parser.add_argument(
            "--keep-running", action="store_true", help="Leave the service up afterwards."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code = run_demo(
            self.stdout, options["timeout"], options["keep_running"], options["samples"]
        )
        if code:
            raise CommandError("the demo batch did not complete")
