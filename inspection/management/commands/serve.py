"""`manage.py serve` (`make up`): web, CPU worker, inference worker, beat and Flower."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from inspection.demo import processes
from inspection.demo.supervisor import supervise
from inspection.management.base import Database, InspectionCommand


class Command(InspectionCommand):
    help = "Run the long-lived service on this machine until Ctrl-C."
    database = Database.MIGRATES

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.WEB_PORT, help="(WEB_PORT)")
        parser.add_argument(
            "--flower-port", type=int, default=settings.FLOWER_PORT, help="(FLOWER_PORT)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        group = processes.ProcessGroup(Path(settings.VAR_DIR) / "logs")
        port, flower_port = options["port"], options["flower_port"]
        for what, number, setting in (
            ("web", port, "WEB_PORT"),
            ("Flower", flower_port, "FLOWER_PORT"),
        ):
            if processes.port_in_use(number):
                raise CommandError(f"Port {number} ({what}) is in use: set {setting} to another.")
        exporters = processes.start_service(
            group, port, with_beat_and_flower=True, flower_port=flower_port
        )
        metrics = "  ".join(f"{n} :{p}/metrics" for n, p in exporters.items())
        self.stdout.write(
            f"Web      http://127.0.0.1:{port}/  (API docs /api/v1/docs/, admin /admin/)\n"
            f"Flower   http://127.0.0.1:{flower_port}/\n"
            f"Health   http://127.0.0.1:{port}/healthz  /readyz  Analytics /analytics/\n"
            f"Metrics  http://127.0.0.1:{port}/metrics  {metrics}\n"
            f"Logs     {group.log_dir} (appended to)\n"
            "A process that exits is started again; Ctrl-C stops everything.\n"
        )
        try:
            supervise(group, self._say)
        finally:
            group.stop()

    def _say(self, message: str) -> None:
        self.stdout.write(f"{time.strftime('%H:%M:%S')} {message}")
        self.stdout.flush()
