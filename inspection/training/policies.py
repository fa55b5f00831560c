"""Write calibrated thresholds as a new ThresholdPolicy version (a service: one transaction)."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from inspection.models import Facility, ModelVersion, ThresholdPolicy

DEFAULT_MIN_CONFIDENCE = 0.1


def active_policy(facility: Facility, model_version: ModelVersion | None) -> ThresholdPolicy | None:
    return ThresholdPolicy.objects.filter(
        facility=facility, model_version=model_version, is_active=True
    ).first()


def save_policy_version(
    facility: Facility, model_version: ModelVersion | None, thresholds: Mapping[str, float],
    min_confidence: float | None = None, note: str = "",
) -> ThresholdPolicy:
    """A new active version; earlier versions stay, the previously active one is deactivated in
    the same transaction. Settings the calibration does not decide are carried over."""
    with transaction.atomic():
        rows = ThresholdPolicy.objects.filter(facility=facility, model_version=model_version)
        locked = list(rows.select_for_update())
        previous = next((row for row in locked if row.is_active), None)
        version = max((row.version for row in locked), default=0) + 1
        rows.filter(is_active=True).update(is_active=False)
        return ThresholdPolicy.objects.create(
            facility=facility, model_version=model_version, version=version, is_active=True,
            class_thresholds={name: float(value) for name, value in thresholds.items()},
            **_carried(previous, min_confidence), note=note[:200],
        )


def _carried(previous: ThresholdPolicy | None, min_confidence: float | None) -> dict[str, object]:
    if previous is None:
        return {"min_confidence": min_confidence if min_confidence is not None
                else DEFAULT_MIN_CONFIDENCE}
    return {
        "default_threshold": previous.default_threshold,
        "min_confidence": min_confidence if min_confidence is not None else previous.min_confidence,
        "review_if_no_detections": previous.review_if_no_detections,
        "review_on_quality_flags": previous.review_on_quality_flags,
    }
