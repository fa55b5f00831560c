"""Applying the recommendation of Learn then Test: a new policy version for the facility and
model, through the one service every threshold change takes (inspection.services.policies), so
the previous version is kept and the new one says who wrote it. Classes with a recommendation
take it; the others keep their current threshold. The version is `calibrated`: it rests on
labelled data (the audit verdicts), and its details hold the evidence per class (target, boxes,
precision and bound, the threshold it replaced), which is also where the next report reads the
promise from."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from inspection.learning.report import ClassReport, precision_report
from inspection.models import Facility, ModelVersion, ThresholdPolicy, ThresholdSource
from inspection.services.policies import InvalidThresholds, ThresholdChange, save_policy_version


def recommendations(
    facilities: QuerySet[Facility], facility: Facility, model: ModelVersion
) -> list[ClassReport]:
    """The report rows of one facility and model (empty when it has no audits)."""
    rows = precision_report(facilities.filter(pk=facility.pk))
    return [row for row in rows if row.model_version_id == model.pk]


def apply_recommendation(
    facilities: QuerySet[Facility], facility: Facility, model: ModelVersion, author: str
) -> ThresholdPolicy:
    """Raises InvalidThresholds when no class has a recommendation that changes anything."""
    rows = recommendations(facilities, facility, model)
    changed = [row for row in rows if _changes(row)]
    if not changed:
        raise InvalidThresholds("No class has a recommended threshold that differs from its own.")
    thresholds = {row.class_name: _new(row) for row in rows}
    change = ThresholdChange(
        ThresholdSource.CALIBRATED,
        thresholds,
        note=f"Learn then Test on audits: {', '.join(row.class_name for row in changed)}",
        details={"from": "audits", "classes": {row.class_name: _evidence(row) for row in rows}},
    )
    return save_policy_version(facility, model, change, created_by=author)


def _changes(row: ClassReport) -> bool:
    recommended = row.recommended.threshold
    return recommended is not None and recommended != row.threshold


def _new(row: ClassReport) -> float:
    recommended = row.recommended.threshold
    return row.threshold if recommended is None else recommended


def _evidence(row: ClassReport) -> dict[str, Any]:
    return {
        "threshold": _new(row),
        "previous_threshold": row.threshold,
        "target_precision": row.target,
        "audited_boxes": row.boxes,
        "precision": row.precision,
        "precision_low": round(row.lower_bound, 4),
        "delta": row.recommended.delta,
        "recommended": row.recommended.threshold is not None,
    }
