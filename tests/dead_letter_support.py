"""Test support for dead letters: failed images made the way the pipeline leaves them (reason,
detail, attempts, finish time, model), in batches of a facility."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from inspection.models import Batch, Facility, Image
from tests.workers import add_image, empty_batch, photo_bytes

Status = Image.Status


def failed_image(
    batch: Batch,
    reason: str,
    detail: str = "",
    failed_at: datetime | None = None,
    **fields: Any,
) -> Image:
    """A photo that failed (its original is stored, so a replay can run it through again)."""
    return add_image(
        batch,
        photo_bytes(seed=batch.images.count()),
        f"{reason}-{batch.images.count()}.jpg",
        status=Status.FAILED,
        reason=reason,
        reason_detail=detail,
        attempts=fields.pop("attempts", 3),
        finished_at=failed_at or timezone.now(),
        **fields,
    )


def completed_batch(facility: Facility, camera: str = "dock-1") -> Batch:
    batch = empty_batch(facility)
    Batch.objects.filter(pk=batch.pk).update(camera=camera, status=Batch.Status.COMPLETED)
    batch.refresh_from_db()
    return batch


def hours_ago(hours: float) -> datetime:
    return timezone.now() - timedelta(hours=hours)
