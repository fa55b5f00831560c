"""`batch.reviewed`: noticed inside the verdict that decided the last review of a completed
batch, and announced with it (exactly once, whatever verdicts race)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from inspection.models import Batch, Image, ReviewTask
from inspection.webhooks import delivery as webhooks

logger = logging.getLogger(__name__)


def announce_if_reviewed(batch_id: Any) -> bool:
    """Run inside a verdict's transaction, after the verdict: if it decided the last review of a
    completed batch, announce `batch.reviewed` (committed with the verdict, or not at all).

    The batch row lock orders verdicts that finish a batch's last reviews at the same moment:
    the second waits for the first to commit, and its next statement (READ COMMITTED) sees the
    first's verdict, so exactly one of them finds nothing left to review. A batch still
    processing is skipped: its `batch.completed`, built after this commit, shows the verdict."""
    with transaction.atomic():
        if locked_status(batch_id) != Batch.Status.COMPLETED:
            return False
        if review_outstanding(batch_id) or not was_reviewed(batch_id):
            return False
        webhooks.announce_batch_reviewed(batch_id)
    logger.info("batch reviewed [batch_id=%s]", batch_id, extra={"batch_id": str(batch_id)})
    return True


def locked_status(batch_id: Any) -> str:
    """Lock the batch row whatever its status, then read it: a completion committing right now
    makes us wait and see `completed` (a lock filtered on the status would skip the row
    unseen, and the completion would announce a review that no `batch.reviewed` ever ends)."""
    batches = Batch.objects.select_for_update(no_key=True).filter(id=batch_id)
    return str(batches.values_list("status", flat=True).get())


def review_outstanding(batch_id: Any) -> bool:
    """An audit task left open is not: its image's result is final unless the audit corrects
    it, which `result.corrected` announces on its own."""
    waiting = Image.objects.filter(batch_id=batch_id, status=Image.Status.NEEDS_REVIEW)
    open_tasks = ReviewTask.objects.filter(
        image__batch_id=batch_id, kind=ReviewTask.Kind.REVIEW
    ).exclude(status=ReviewTask.Status.DONE)
    return waiting.exists() or open_tasks.exists()


def was_reviewed(batch_id: Any) -> bool:
    """A batch that needed no review never gets `batch.reviewed`."""
    return Image.objects.filter(batch_id=batch_id).exclude(verdict="").exists()
