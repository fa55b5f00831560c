"""`manage.py redeliver_webhooks --batch ID | --failed`

Re-queues webhook deliveries: a failed one starts over with a fresh set of attempts, a pending
one has its message sent again (harmless: an attempt is claimed once). A delivered webhook is
never sent again."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.management.base import InspectionCommand
from inspection.webhooks.delivery import deliveries_of_batch, failed_deliveries, redeliver


class Command(InspectionCommand):
    help = "Re-queue the webhook deliveries of one batch, or every failed one."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--batch", metavar="ID", help="The deliveries of this batch.")
        which.add_argument("--failed", action="store_true", help="Every failed delivery.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["failed"]:
            deliveries = failed_deliveries()
        else:
            deliveries = deliveries_of_batch(batch_id(options["batch"]))
        report = redeliver(deliveries)
        self.stdout.write(
            f"Re-queued {report.requeued} failed, re-published {report.republished} pending, "
            f"skipped {report.skipped} delivered."
        )


def batch_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CommandError(f"Not a batch id: {value!r}.") from None
