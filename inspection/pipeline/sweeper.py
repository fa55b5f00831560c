"""The sweeper: re-enqueue work whose lease expired or whose message was lost, fail what is over
the attempt cap, complete batches a dying worker left behind. PostgreSQL is the source of truth;
the broker may lose or repeat messages, and every stage shrugs off a duplicate."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from inspection.models import Image
from inspection.pipeline.completion import complete_finished_batches, fail_image
from inspection.pipeline.enqueue import enqueue_infer, enqueue_preprocess, enqueue_validate

logger = logging.getLogger(__name__)

Status = Image.Status
SWEEP_LIMIT = 1000

ENQUEUE_BY_STATUS: dict[str, Callable[[Iterable[object]], None]] = {
    Status.QUEUED: enqueue_preprocess,
    Status.PREPROCESSING: enqueue_preprocess,
    Status.PREPROCESSED: enqueue_infer,
    Status.INFERRING: enqueue_infer,
    Status.INFERRED: enqueue_validate,
    Status.VALIDATING: enqueue_validate,
}


@dataclass
class SweepReport:
    requeued: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    batches_completed: int = 0


def sweep_stalled() -> SweepReport:
    now = timezone.now()
    report = SweepReport(failed=_fail_over_cap(now))
    for status, ids in _stalled(now).items():
        ENQUEUE_BY_STATUS[status](ids)
        report.requeued[status] = len(ids)
    report.batches_completed = complete_finished_batches()
    if report.requeued or report.failed or report.batches_completed:
        logger.info(
            "sweep: requeued=%s failed=%d batches_completed=%d",
            report.requeued,
            report.failed,
            report.batches_completed,
        )
    return report


def expired_lease(now: datetime) -> Q:
    return Q(status__in=Image.LEASED, lease_expires_at__lt=now)


def _fail_over_cap(now: datetime) -> int:
    """A leased image whose next claim would pass the cap: its message keeps killing workers."""
    capped = Q(attempts__gte=settings.PIPELINE_MAX_ATTEMPTS) & expired_lease(now)
    ids = list(Image.objects.filter(capped).values_list("id", flat=True)[:SWEEP_LIMIT])
    detail = f"lease expired after {settings.PIPELINE_MAX_ATTEMPTS} attempts"
    return sum(
        fail_image(i, "attempts_exhausted", detail, "inspection.sweep_stalled", capped) for i in ids
    )


def _stalled(now: datetime) -> dict[str, list[Any]]:
    waiting_too_long = Q(
        status__in=Image.WAITING,
        updated_at__lt=now - timedelta(seconds=settings.PIPELINE_STALL_SECONDS),
    )
    rows = Image.objects.filter(expired_lease(now) | waiting_too_long).values_list("status", "id")
    found: dict[str, list[Any]] = {}
    for status, image_id in rows[:SWEEP_LIMIT]:
        found.setdefault(status, []).append(image_id)
    return found
