"""The period a facility's active thresholds were set on, to compare today's confidences with:

- thresholds of a policy version (set by an operator, the API, the admin or a calibration): the
  7 days before that version was created, when the facility's active model decided images then
  (what the operator had seen); otherwise the first 7 days after it (the first week the
  thresholds routed images);
- the model's registration thresholds (no policy version for it here): the first 7 days of the
  model's decided images at the facility (the first week after its activation).

Whole hours (the rollups' unit), the same camera as the chart; None before any image."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet

from inspection.analytics.window import Bucket, floor_to
from inspection.models import Facility, Image, ThresholdPolicy
from inspection.pipeline.policies import AppliedPolicy, policy_for

REFERENCE_SPAN = timedelta(days=7)


@dataclass(frozen=True)
class Reference:
    facility: Facility
    model_version_id: int
    applied: AppliedPolicy
    since: datetime | None
    until: datetime | None
    rule: str


def reference_for(facility: Facility) -> Reference | None:
    """None for a facility without an active model."""
    model_id = facility.active_model_id
    if model_id is None:
        return None
    applied = policy_for(facility.pk, model_id)
    if applied.policy_id is not None:
        return _around_version(facility, model_id, applied, applied.policy_id)
    return _first_week(facility, model_id, applied)


def _around_version(
    facility: Facility, model_id: int, applied: AppliedPolicy, policy_id: int
) -> Reference:
    created = ThresholdPolicy.objects.values_list("created_at", flat=True).get(pk=policy_id)
    set_at = floor_to(created, Bucket.HOUR)
    before = (set_at - REFERENCE_SPAN, set_at)
    if _decided(facility, model_id, *before).exists():
        rule = f"the 7 days before threshold version {applied.version} was set"
        return Reference(facility, model_id, applied, *before, rule)
    rule = f"the first 7 days under threshold version {applied.version} (no images before it)"
    return Reference(facility, model_id, applied, set_at, set_at + REFERENCE_SPAN, rule)


def _first_week(facility: Facility, model_id: int, applied: AppliedPolicy) -> Reference:
    rule = "the first 7 days of the model's images here (its registration thresholds)"
    first = (
        _decided(facility, model_id, None, None)
        .order_by("finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if first is None:
        return Reference(facility, model_id, applied, None, None, rule)
    start = floor_to(first, Bucket.HOUR)
    return Reference(facility, model_id, applied, start, start + REFERENCE_SPAN, rule)


def _decided(
    facility: Facility, model_id: int, since: datetime | None, until: datetime | None
) -> QuerySet[Image]:
    images = Image.objects.filter(
        facility=facility, model_version_id=model_id, finished_at__isnull=False
    )
    if since is not None and until is not None:
        images = images.filter(finished_at__gte=since, finished_at__lt=until)
    return images
