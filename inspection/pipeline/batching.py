"""Dynamic batching: an infer task claims the image next in fair order, then more ready images
(facilities taking turns, oldest first within one), waiting up to INFERENCE_MAX_WAIT_MS for more
while earlier stages still have work in flight. A batch holds at most INFERENCE_BATCH_SIZE
images, and no more than its estimated run time allows (INFERENCE_MAX_BATCH_MS, estimated from
the time per image this process last measured): a GPU fills its batches, a CPU keeps them short.

Claims are conditional UPDATEs, so two inference workers never share an image. An image on its
second attempt (attempts > 1 after the claim, or released with its attempt counted) is inferred
alone: a poison image cannot keep failing its neighbours.
"""

from __future__ import annotations

import time

from django.conf import settings

from inspection.models import Image
from inspection.pipeline.claims import INFER, Claim
from inspection.pipeline.fairness import claim_fairly

POLL_SECONDS = 0.01
# The inference time per image this process measured last (None before its first batch).
_ms_per_image: float | None = None


def observe(ms_per_image: float) -> None:
    """Called after every inference batch, so the next batch's size fits its time budget."""
    global _ms_per_image
    _ms_per_image = ms_per_image


def batch_size_limit(ms_per_image: float | None = None) -> int:
    """INFERENCE_BATCH_SIZE, cut to what INFERENCE_MAX_BATCH_MS allows (never below one)."""
    per_image = _ms_per_image if ms_per_image is None else ms_per_image
    limit = settings.INFERENCE_BATCH_SIZE
    if per_image:
        limit = min(limit, int(settings.INFERENCE_MAX_BATCH_MS // per_image))
    return max(1, limit)


def claim_batch(size: int | None = None, max_wait_ms: int | None = None) -> list[Claim]:
    """The claims for one inference batch; [] when nothing is ready."""
    first = claim_fairly(INFER)
    size = size or batch_size_limit()
    if not first or first[0].attempt > 1 or size <= 1:
        return first
    wait = settings.INFERENCE_MAX_WAIT_MS if max_wait_ms is None else max_wait_ms
    return _fill(first, size, time.monotonic() + wait / 1000)


def _fill(batch: list[Claim], size: int, deadline: float) -> list[Claim]:
    while True:
        batch += claim_fairly(INFER, size - len(batch), fresh_only=True)
        if len(batch) >= size or time.monotonic() >= deadline or not _more_coming():
            return batch
        time.sleep(POLL_SECONDS)


def _more_coming() -> bool:
    """Worth waiting only while some image is still on its way to `preprocessed`."""
    return Image.objects.filter(
        status__in=(Image.Status.QUEUED, Image.Status.PREPROCESSING)
    ).exists()
