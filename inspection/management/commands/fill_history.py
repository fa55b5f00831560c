"""`manage.py fill_history --facility SLUG [--images 200000] [--days 30] [--seed 1]`

Fills a new facility with DAYS days of realistic traffic ending now (batches from four cameras,
a day and week rhythm, failures with their reasons, the model's boxes routed by two threshold
versions, review tasks decided by reviewers on shifts, a drifting class, two incidents), for the
analytics page and its benchmark. PostgreSQL only (COPY); the images have no stored files, so
use a database of its own, never a live one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.analytics.history.fill import (
    HistoryRefused,
    HistoryReport,
    HistoryRequest,
    fill_history,
)
from inspection.management.base import InspectionCommand


class Command(InspectionCommand):
    help = "Fill a new facility with a realistic history of images, boxes and reviews."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--facility", required=True, help="Slug; created when missing.")
        parser.add_argument("--images", type=int, default=200_000)
        parser.add_argument("--days", type=float, default=30.0)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        request = HistoryRequest(
            options["facility"], options["images"], options["days"], options["seed"]
        )
        try:
            report = fill_history(request)
        except HistoryRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(summary(report))


def summary(report: HistoryReport) -> str:
    counts = ", ".join(f"{n} {name}" for name, n in report.counts.items())
    statuses = ", ".join(f"{name} {n}" for name, n in sorted(report.statuses.items()))
    return (
        f"{report.facility}: {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC "
        f"in {report.seconds} s (rollups sealed in {report.sealing_seconds} s)\n"
        f"  rows: {counts}\n  images: {statuses}"
    )
