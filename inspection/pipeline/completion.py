"""Completing batches from what the database says: when an image ends, and the sweeper's safety
net for a worker that died in between. A completion commits with its `batch.completed` webhook."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from inspection.models import Batch, Image
from inspection.webhooks import delivery as webhooks

logger = logging.getLogger(__name__)


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
