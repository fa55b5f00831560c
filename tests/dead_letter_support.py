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


def crash_and_dark(facility: Facility) -> dict[str, Image]:
    """Two failed images of one batch at camera dock-7: an inference error two hours ago and a
    too-dark photo an hour ago (with the model it was processed with)."""
    batch = completed_batch(facility, "dock-7")
    return {
        "crash": failed_image(batch, "inference_error", "RuntimeError('boom')", hours_ago(2)),
        "dark": failed_image(
            batch, "too_dark", "mean 4", hours_ago(1), model_version=facility.active_model
        ),
    }
