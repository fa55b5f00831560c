"""Inference batch sizes: an infer message claims the next ready images in fair order
(facilities taking turns, oldest first within one), at most INFERENCE_BATCH_SIZE, and no more
than its estimated run time allows (INFERENCE_MAX_BATCH_MS, estimated from the time per image
this process last measured): a GPU fills its batches, a CPU keeps them short.

Nothing waits for a batch to fill: preprocessing finishes its images in batches and sends one
infer message per INFERENCE_BATCH_SIZE of them, so what an infer message finds ready is a batch
already (no polling of the database while images trickle in). Where the time budget keeps
batches shorter than that, a message that filled its shorter batch sends one more for the images
it also stood for. An image on a later attempt is inferred alone (fairness.claim_batch): a
poison image cannot keep failing its neighbours.
"""

from __future__ import annotations

from django.conf import settings

from inspection.pipeline.claims import INFER, Claim
from inspection.pipeline.fairness import claim_batch

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


def claim_inference_batch() -> list[Claim]:
    """The next inference batch, within this process's time budget (a batch it cut sends a
    message for the rest: fairness.claim_batch)."""
    return claim_batch(INFER, batch_size_limit())
