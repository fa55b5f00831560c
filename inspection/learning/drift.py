"""The drift guard's check (issue 21, point 4), run by beat every DRIFT_CHECK_INTERVAL_SECONDS
for every facility with an active model:

- **Drift**: per class, the model's confidences on images decided in the last
  DRIFT_RECENT_HOURS against those of the reference window of the active thresholds (the window
  the confidence chart draws: inspection/analytics/reference.py), as the population stability
  index over the rollups' 20 bins (drift_stats.py); above PSI_CUTOFF with at least MIN_BOXES
  boxes on each side is drift. For all cameras together, and for each camera when the recent
  images came from more than one. No comparison while the reference window is still running or
  reaches into the recent one.
- **Precision**: per class, the measured precision's 95 % lower bound from the audits of the
  last PRECISION_WINDOW (report.py, as on the thresholds page) below the promise, once the class
  has at least as many audited boxes as could certify that promise at all (59 for 0.95): before
  that a low bound means too few audits, not a breach. For all cameras together.

Each class's PSI is kept (DriftMeasure, one row per key) for /metrics; a finding opens an alert
(drift_alerts.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from inspection.analytics.confidence import class_bins
from inspection.analytics.models import CONFIDENCE_BINS
from inspection.analytics.reference import Reference, reference_for
from inspection.learning import drift_stats, precision
from inspection.learning.drift_alerts import Finding, raise_alert
from inspection.learning.gauges import GAUGE_WINDOW
from inspection.learning.report import ClassReport, precision_report
from inspection.models import DriftAlert, DriftMeasure, Facility, Image
from inspection.pipeline.policies import policy_for

PRECISION_WINDOW = GAUGE_WINDOW
logger = logging.getLogger(__name__)


def recent_window() -> timedelta:
    return timedelta(hours=settings.DRIFT_RECENT_HOURS)


def check_all(now: datetime | None = None) -> int:
    """Check every facility with an active model; returns how many alerts opened. A facility
    whose check fails is logged and skipped: the others are still checked (the next run retries
    it)."""
    at = now or timezone.now()
    opened = 0
    for facility in Facility.objects.filter(active_model__isnull=False):
        try:
            opened += check_facility(facility, at)
        except DatabaseError:
            logger.exception("drift check of %s failed", facility.slug)
    return opened


def check_facility(facility: Facility, now: datetime) -> int:
    findings = [*drift_findings(facility, now), *precision_findings(facility, now)]
    # What this check did not measure (a model no longer active, a camera gone quiet) leaves
    # the gauges rather than show an old value as today's.
    DriftMeasure.objects.filter(facility=facility).exclude(checked_at=now).delete()
    return sum(raise_alert(finding, now) for finding in findings)


# --- drift of the confidences -----------------------------------------------------------------


def drift_findings(facility: Facility, now: datetime) -> Iterator[Finding]:
    reference = reference_for(facility)
    since = now - recent_window()
    if reference is None or reference.until is None or reference.until > since:
        return
    for camera in [None, *_cameras(reference, since, now)]:
        yield from _compare(reference, camera, since, now)


def _cameras(reference: Reference, since: datetime, now: datetime) -> list[str]:
    """The cameras of the recent images, when more than one (one camera is all of them)."""
    cameras = (
        Image.objects.filter(
            facility_id=reference.facility.pk,
            model_version_id=reference.model_version_id,
            finished_at__gte=since,
            finished_at__lt=now,
        )
        .values_list("batch__camera", flat=True)
        .distinct()
        .order_by()
    )
    found = sorted(cameras)
    return found if len(found) > 1 else []


def _compare(
    reference: Reference, camera: str | None, since: datetime, now: datetime
) -> Iterator[Finding]:
    assert reference.since is not None and reference.until is not None
    facility_id, model_id = reference.facility.pk, reference.model_version_id
    before = class_bins(facility_id, model_id, reference.since, reference.until, camera)
    recent = class_bins(facility_id, model_id, since, now, camera)
    zeros = [0] * CONFIDENCE_BINS
    for name in sorted({*before, *recent}):
        a, b = before.get(name, zeros), recent.get(name, zeros)
        psi = drift_stats.psi(a, b) if drift_stats.comparable(a, b) else None
        _keep(reference, camera, name, psi, sum(b), sum(a), now)
        if psi is not None and psi > drift_stats.PSI_CUTOFF:
            detail = f"recent {sum(b)} boxes vs {sum(a)} in {reference.rule}"
            yield Finding(
                facility_id, camera, model_id, name, DriftAlert.Kind.DRIFT,
                reference.applied.policy_id, psi, drift_stats.PSI_CUTOFF, detail,
            )  # fmt: skip


def _keep(
    reference: Reference,
    camera: str | None,
    name: str,
    psi: float | None,
    recent: int,
    before: int,
    now: datetime,
) -> None:
    DriftMeasure.objects.update_or_create(
        facility_id=reference.facility.pk,
        camera=camera,
        model_version_id=reference.model_version_id,
        class_name=name,
        defaults={"psi": psi, "recent_boxes": recent, "reference_boxes": before, "checked_at": now},
    )


# --- measured precision below the promise -----------------------------------------------------


def precision_findings(facility: Facility, now: datetime) -> Iterator[Finding]:
    model_id = facility.active_model_id
    rows = precision_report(Facility.objects.filter(pk=facility.pk), since=now - PRECISION_WINDOW)
    for row in rows:
        if row.model_version_id == model_id and model_id is not None and breached(row):
            detail = f"{row.correct} of {row.boxes} audited boxes correct (30 days)"
            yield Finding(
                facility.pk, None, model_id, row.class_name, DriftAlert.Kind.PRECISION,
                policy_for(facility.pk, model_id).policy_id, row.lower_bound, row.target, detail,
            )  # fmt: skip


def breached(row: ClassReport) -> bool:
    """The bound is below the promise although enough boxes were audited to certify it."""
    fewest = precision.further_audits(0, 0, row.target)
    return fewest is not None and row.boxes >= fewest and not row.certified
