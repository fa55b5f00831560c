"""`manage.py replay_failed BATCH_ID [BATCH_ID ...] [--reason REASON ...] [--model NAME:VERSION]`

Sends a batch's failed images through the pipeline again once their cause is fixed (a model
activated, an original restored, an outage that used up the attempts): each goes back to
`queued` with its attempts cleared and is processed with the facility's active model (or the
registered version `--model` names, for these images only) and policy of now; a completed batch
is processing again until they end, and its webhooks fire again. Only failed images are touched;
`--reason` narrows it to some failure reasons. Each batch (and reason) is one audited replay
request, as from the failed images page or the API (inspection/dead_letters/)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.dead_letters.replays import Caller, ReplayScope, model_named, request_replay
from inspection.management.base import InspectionCommand
from inspection.models import Batch, Facility, Image, ModelVersion
from inspection.services import DomainError


class Command(InspectionCommand):
    help = "Send a batch's failed images through the pipeline again (optionally some reasons)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("batch_ids", nargs="+", metavar="BATCH_ID", help="Batch ids.")
        parser.add_argument(
            "--reason",
            action="append",
            dest="reasons",
            metavar="REASON",
            help="Only images failed for this reason (repeatable), e.g. attempts_exhausted.",
        )
        parser.add_argument(
            "--model",
            metavar="NAME:VERSION",
            help="Replay against this registered model version instead of the active one.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batches = [self._batch(batch_id) for batch_id in options["batch_ids"]]
        model = self._model(options["model"])
        for batch in batches:
            failed = self._failed_reasons(batch, options["reasons"])
            reasons = options["reasons"] or [""]
            replayed = sum(self._replay(batch, reason, model) for reason in reasons)
            self.stdout.write(self._report(batch, replayed, failed))

    def _model(self, ref: str | None) -> ModelVersion | None:
        try:
            return model_named(ref) if ref else None
        except DomainError as exc:
            raise CommandError(exc.detail) from None

    def _replay(self, batch: Batch, reason: str, model: ModelVersion | None) -> int:
        try:
            scope = ReplayScope(batch=batch.pk, reason=reason)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        caller = Caller.command("replay_failed")
        outcome = request_replay(Facility.objects.all(), scope, caller, model)
        return outcome.request.replayed

    def _batch(self, batch_id: str) -> Batch:
        try:
            key = uuid.UUID(batch_id)
        except ValueError:
            raise CommandError(f"{batch_id!r} is not a batch id (a UUID).") from None
        batch = Batch.objects.select_related("facility").filter(pk=key).first()
        if batch is None:
            raise CommandError(f"No batch {batch_id}.")
        return batch

    def _failed_reasons(self, batch: Batch, reasons: list[str] | None) -> Counter[str]:
        failed = Image.objects.filter(batch=batch, status=Image.Status.FAILED)
        if reasons:
            failed = failed.filter(reason__in=reasons)
        return Counter(failed.values_list("reason", flat=True))

    def _report(self, batch: Batch, replayed: int, reasons: Counter[str]) -> str:
        if not replayed:
            return f"Batch {batch.pk} ({batch.facility.slug}): no failed image to replay."
        listed = ", ".join(f"{reason} {n}" for reason, n in reasons.most_common())
        return (
            f"Batch {batch.pk} ({batch.facility.slug}): {replayed} failed image(s) queued "
            f"again ({listed}); the batch completes when they end."
        )
