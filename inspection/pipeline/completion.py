"""Ending images as failed, completing batches from what the database says, and noticing when
reviewers have decided the last image a completed batch left in review."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from inspection import storage
from inspection.models import Batch, Image, ReviewTask
from inspection.observability import hooks
from inspection.pipeline.claims import Claim
from inspection.pipeline.logs import image_log
from inspection.webhooks import delivery as webhooks

logger = logging.getLogger(__name__)

DETAIL_LENGTH = 500


def fail_claimed(
    claim: Claim, reason: str, detail: str = "", fields: dict[str, object] | None = None
) -> bool:
    """Fail an image under a claim (only while the claim still holds), storing `fields` too."""
    return _fail(
        claim.fence(), claim.image_id, claim.batch_id, reason, detail, claim.stage.task, fields
    )


def fail_image(
    image_id: Any, reason: str, detail: str = "", task: str = "", where: Q | None = None
) -> bool:
    """Fail an image that is not terminal yet (optionally only when `where` holds too)."""
    batch_id = Image.objects.filter(id=image_id).values_list("batch_id", flat=True).first()
    if batch_id is None:
        return False
    condition = Q(id=image_id) & ~Q(status__in=Image.TERMINAL) & (where or Q())
    return _fail(condition, image_id, batch_id, reason, detail, task)


def _fail(
    condition: Q,
    image_id: Any,
    batch_id: Any,
    reason: str,
    detail: str,
    task: str,
    fields: dict[str, object] | None = None,
) -> bool:
    now = timezone.now()
    with transaction.atomic():
        changed = Image.objects.filter(condition).update(
            **(fields or {}),
            status=Image.Status.FAILED,
            reason=reason,
            reason_detail=detail[:DETAIL_LENGTH],
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
        if changed:
            transaction.on_commit(partial(storage.delete, storage.preprocessed_key(image_id)))
    if changed:
        hooks.image_failed(image_id, reason)
        image_log(logger, task, image_id, batch_id).info(
            "image failed: %s %s", reason, detail[:200]
        )
        complete_batch_if_done(batch_id)
    return changed == 1


def unfinished_images() -> Exists:
    return Exists(Image.objects.filter(batch_id=OuterRef("pk")).exclude(status__in=Image.TERMINAL))


def complete_batch_if_done(batch_id: Any) -> bool:
    """Mark the batch completed when no image of it is left unfinished (a conditional UPDATE,
    run after the image's own commit so the last finisher always sees every other one). The
    completion and its webhook delivery commit together."""
    now = timezone.now()
    with transaction.atomic():
        changed = (
            Batch.objects.filter(id=batch_id, status=Batch.Status.PROCESSING)
            .exclude(unfinished_images())
            .update(status=Batch.Status.COMPLETED, completed_at=now, updated_at=now)
        )
        if changed:
            webhooks.announce_batch_completed(batch_id)
    if changed:
        logger.info("batch completed [batch_id=%s]", batch_id, extra={"batch_id": str(batch_id)})
    return changed == 1


def complete_finished_batches() -> int:
    """The sweeper's safety net: a worker that died between an image's commit and the batch
    check would otherwise leave the batch processing forever."""
    ids = list(
        Batch.objects.filter(status=Batch.Status.PROCESSING)
        .exclude(unfinished_images())
        .values_list("id", flat=True)[:500]
    )
    return sum(complete_batch_if_done(batch_id) for batch_id in ids)


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
    waiting = Image.objects.filter(batch_id=batch_id, status=Image.Status.NEEDS_REVIEW)
    open_tasks = ReviewTask.objects.filter(image__batch_id=batch_id).exclude(
        status=ReviewTask.Status.DONE
    )
    return waiting.exists() or open_tasks.exists()


def was_reviewed(batch_id: Any) -> bool:
    """A batch that needed no review never gets `batch.reviewed`."""
    return Image.objects.filter(batch_id=batch_id).exclude(verdict="").exists()
