"""Export jobs whose Celery message or worker was lost. A job still pending a sweep interval
after it was requested is sent to the builder again (a repeated message finds it taken, so this
is safe), and again after waits that double (`ExportJob.resend_due`); a job running for longer
than the build's hard time limit lost its worker, which was killed or died, and is failed with
the reason, so no export waits forever."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from inspection.models import ExportJob
from inspection.review.exports import BUILD_LIMITS, send_build

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 500
Status = ExportJob.Status
WORKER_LOST = (
    "The export stopped before finishing (its worker was killed or died, or it ran "
    "past the time limit); request it again."
)


@dataclass(frozen=True)
class ExportSweep:
    resent: int
    failed: int


def sweep_exports(now: datetime | None = None) -> ExportSweep:
    now = now or timezone.now()
    interval = timedelta(seconds=settings.EXPORT_SWEEP_INTERVAL_SECONDS)
    resent = _resend_pending(now, interval)
    failed = _fail_abandoned(now - interval - timedelta(seconds=BUILD_LIMITS[1]))
    if resent or failed:
        logger.info("export sweep: resent=%d failed=%d", resent, failed)
    return ExportSweep(resent, failed)


def _resend_pending(now: datetime, interval: timedelta) -> int:
    pending = ExportJob.objects.filter(status=Status.PENDING, created_at__lt=now - interval)
    oldest = pending.order_by("created_at")[:SWEEP_LIMIT]
    resent = [job for job in oldest if job.resend_due(now, interval) and job.mark_resent(now)]
    for job in resent:
        send_build(job.pk)
    return len(resent)


def _fail_abandoned(started_before: datetime) -> int:
    # Rows from before `started_at` existed count from their request time.
    started = Q(started_at__lt=started_before) | Q(
        started_at__isnull=True, created_at__lt=started_before
    )
    running = ExportJob.objects.filter(started, status=Status.RUNNING)[:SWEEP_LIMIT]
    return sum(job.fail(WORKER_LOST) for job in running)
