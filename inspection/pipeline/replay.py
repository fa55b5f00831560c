"""Replaying failed images: back to `queued`, attempts and claims cleared, through the pipeline
again, with the facility's policy of now and its active model, or another registered model
version for these images only (`Image.replay_model`, which preprocessing takes instead; the
facility's active model is not touched). The one place a failed image is reset: the dead
letters page and API (inspection/dead_letters/) and `manage.py replay_failed` come here.

Idempotent by conditional update: only images still `failed` are reset, under a row lock, so
two replays of the same images at once (a double click, a client retry) replay each once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from inspection.models import Batch, Detection, Image, ModelVersion, ShadowRun
from inspection.pipeline import backpressure
from inspection.pipeline.enqueue import enqueue_preprocess


def replay_image(image_id: Any, model: ModelVersion | None = None) -> bool:
    """Replay one failed image; False when it is not failed (nothing to replay)."""
    return bool(replay_images([image_id], model))


def replay_failed(
    batch: Batch, reasons: list[str] | None = None, model: ModelVersion | None = None
) -> int:
    """Replay a batch's failed images (optionally only those with some reasons)."""
    failed = Image.objects.filter(batch=batch, status=Image.Status.FAILED)
    if reasons:
        failed = failed.filter(reason__in=reasons)
    return len(replay_images(list(failed.values_list("id", flat=True)), model))


def replay_images(image_ids: Iterable[Any], model: ModelVersion | None = None) -> list[Any]:
    """Replay those of the images that are failed and have a stored original; returns their
    ids (the others are left alone). Their messages go out after the caller's transaction
    commits."""
    with transaction.atomic():
        # Locked, then read again by PostgreSQL once a concurrent replay commits: an image
        # another replay reset meanwhile is not failed any more and drops out here.
        rows = list(
            Image.objects.select_for_update()
            .filter(id__in=list(image_ids), status=Image.Status.FAILED)
            .exclude(storage_key="")  # refused at upload: nothing was stored to run again
            .order_by("pk")
            .values_list("id", "batch_id", "facility_id")
        )
        ids = [image_id for image_id, _, _ in rows]
        if not ids:
            return []
        _reset(Image.objects.filter(id__in=ids), model)
        Detection.objects.filter(image_id__in=ids).delete()
        ShadowRun.objects.filter(image_id__in=ids).delete()
        _reopen({batch_id for _, batch_id, _ in rows})
        enqueue_preprocess(backpressure.admit([(facility, i) for i, _, facility in rows]))
    return ids


def _reset(images: Any, model: ModelVersion | None) -> int:
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
            replay_model=model,
            updated_at=timezone.now(),
        )
    )


def _reopen(batch_ids: set[Any]) -> None:
    now = timezone.now()
    Batch.objects.filter(id__in=batch_ids, status=Batch.Status.COMPLETED).update(
        status=Batch.Status.PROCESSING, completed_at=None, updated_at=now
    )
