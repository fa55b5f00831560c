"""Dynamic batching: an infer task claims its own image, then up to INFERENCE_BATCH_SIZE-1 other
ready images of any batch (oldest first), waiting up to INFERENCE_MAX_WAIT_MS for more while
earlier stages still have work in flight.

On PostgreSQL the neighbours are read with SELECT ... FOR UPDATE SKIP LOCKED inside the claim's
transaction, so two inference workers never even try for the same rows; on SQLite the claim's
conditional UPDATE alone decides. An image on its second attempt (attempts > 1 after the claim,
or released with its attempt counted) is inferred alone: a poison image cannot keep failing its
neighbours.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from inspection.models import Image
from inspection.pipeline import claims
from inspection.pipeline.claims import INFER, Claim

POLL_SECONDS = 0.01


def claim_batch(
    image_id: Any, size: int | None = None, max_wait_ms: int | None = None
) -> list[Claim]:
    """The claims for one inference batch, the task's own image first; [] when it is taken."""
    own = claims.claim(INFER, image_id)
    if own is None:
        return []
    size = size or settings.INFERENCE_BATCH_SIZE
    if own.attempt > 1 or size <= 1:
        return [own]
    wait = settings.INFERENCE_MAX_WAIT_MS if max_wait_ms is None else max_wait_ms
    return _fill(own, size, time.monotonic() + wait / 1000)


def _fill(own: Claim, size: int, deadline: float) -> list[Claim]:
    batch = [own]
    while True:
        batch += claim_neighbours(size - len(batch), exclude=[c.image_id for c in batch])
        if len(batch) >= size or time.monotonic() >= deadline or not _more_coming():
            return batch
        time.sleep(POLL_SECONDS)


def claim_neighbours(count: int, exclude: list[Any]) -> list[Claim]:
    with transaction.atomic():
        rows = list(_ready(exclude).values(*claims.CLAIM_FIELDS)[:count])
        found = [claims.claim_row(INFER, row) for row in rows]
    return [claim for claim in found if claim is not None]


def _ready(exclude: list[Any]) -> QuerySet[Image]:
    ready = (
        Image.objects.filter(status=Image.Status.PREPROCESSED, attempts=0)
        .exclude(id__in=exclude)
        .order_by("updated_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        ready = ready.select_for_update(skip_locked=True)
    return ready


def _more_coming() -> bool:
    """Worth waiting only while some image is still on its way to `preprocessed`."""
    return Image.objects.filter(
        status__in=(Image.Status.QUEUED, Image.Status.PREPROCESSING)
    ).exists()
