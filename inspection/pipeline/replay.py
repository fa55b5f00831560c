"""Replaying failed images: back to `queued`, attempts and claims cleared, through the pipeline
again (with the facility's active model and policy of now). An operator runs it with
`manage.py replay_failed` once the cause is fixed (a model activated, storage restored, an
outage that exhausted the attempts)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from inspection.models import Batch, Detection, Image
from inspection.pipeline.enqueue import enqueue_preprocess


def replay_image(image_id: Any) -> bool:
    """Replay one failed image; False when it is not failed (nothing to replay)."""
    with transaction.atomic():
        if not _reset(Image.objects.filter(id=image_id, status=Image.Status.FAILED)):
            return False
        Detection.objects.filter(image_id=image_id).delete()
        _reopen(Image.objects.filter(id=image_id).values_list("batch_id", flat=True).get())
        enqueue_preprocess([image_id])
    return True


def replay_failed(batch: Batch, reasons: list[str] | None = None) -> int:
    """Replay a batch's failed images (optionally only those with some reasons)."""
    failed = Image.objects.filter(batch=batch, status=Image.Status.FAILED)
    if reasons:
        failed = failed.filter(reason__in=reasons)
    ids = list(failed.values_list("id", flat=True))
    return sum(replay_image(image_id) for image_id in ids)


def _reset(images: Any) -> int:
    return int(
        images.update(
            status=Image.Status.QUEUED,
            attempts=0,
            resends=0,
            resent_at=None,
            claim_token=None,
            leased_by="",
            reason="",
            reason_detail="",
            lease_expires_at=None,
            finished_at=None,
            updated_at=timezone.now(),
        )
    )


def _reopen(batch_id: Any) -> None:
    now = timezone.now()
    Batch.objects.filter(id=batch_id, status=Batch.Status.COMPLETED).update(
        status=Batch.Status.PROCESSING, completed_at=None, updated_at=now
    )
