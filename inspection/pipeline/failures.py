"""Ending an image as failed: only while the caller's claim (or condition) still holds, with
its reason, once; its preprocessed array is removed and its batch completed if it was the last."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inspection import storage
from inspection.models import Image
from inspection.observability import hooks
from inspection.pipeline.claims import Claim
from inspection.pipeline.completion import complete_batch_if_done
from inspection.pipeline.logs import image_log

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
