"""Build an untrained yolov8n (random, seeded weights) for plumbing and tests; no downloads."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from inspection.inference import registry
from inspection.management.base import Database, InspectionCommand


class Command(InspectionCommand):
    help = "Write an untrained YOLO .pt with the given class names (detects nothing useful)."
    database = Database.UNUSED

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True)
        parser.add_argument("--classes", default=",".join(registry.DEV_CLASS_NAMES))

    def handle(self, *args: Any, **options: Any) -> None:
        names = [name.strip() for name in options["classes"].split(",") if name.strip()]
        path = registry.build_untrained_model(options["out"], names)
        self.stdout.write(f"wrote {path} classes={names}")
