"""Which thresholds route an image: the facility's active policy version for the model, else its
model-agnostic active policy, else the thresholds the model was registered with. What applied is
named (source, version), so a result always says whether its thresholds were calibrated."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from inspection.models import ModelVersion, ThresholdPolicy, ThresholdSource
from inspection.validation import Policy

# A model the database does not know (deleted, or none yet): nothing is accepted unseen.
NO_MODEL_POLICY = Policy(review_all=True)


@dataclass(frozen=True)
class AppliedPolicy:
    """The routing rules and where they came from: a facility policy version (`policy_id`,
    `version`) or, with both None, the model's registration thresholds."""

    rules: Policy
    source: str
    policy_id: int | None = None
    version: int | None = None

    @property
    def calibrated(self) -> bool:
        return self.source == ThresholdSource.CALIBRATED


def policy_for(facility_id: Any, model_version_id: Any) -> AppliedPolicy:
    row = facility_policy(facility_id, model_version_id)
    if row is not None:
        return AppliedPolicy(Policy.of(row), row.source, row.pk, row.version)
    model = ModelVersion.objects.filter(pk=model_version_id).first()
    if model is None:
        return AppliedPolicy(NO_MODEL_POLICY, ThresholdSource.REVIEW_ALL)
    return AppliedPolicy(model_rules(model), model.threshold_source)


def facility_policy(facility_id: Any, model_version_id: Any) -> ThresholdPolicy | None:
    rows = ThresholdPolicy.objects.filter(
        Q(model_version_id=model_version_id) | Q(model_version__isnull=True),
        facility_id=facility_id,
        is_active=True,
    )
    # The version-specific policy first (nulls sort last ascending on PostgreSQL and first on
    # SQLite, so order in Python).
    ranked = sorted(rows, key=lambda row: row.model_version_id is None)
    return ranked[0] if ranked else None


def model_rules(model: ModelVersion) -> Policy:
    """The registration thresholds as rules (the other settings at their defaults)."""
    return Policy(
        default_threshold=float(model.default_threshold),
        class_thresholds={k: float(v) for k, v in dict(model.class_thresholds).items()},
        review_all=model.threshold_source == ThresholdSource.REVIEW_ALL,
    )


def lowest_min_confidence(facility_ids: Iterable[Any], model_version_id: Any) -> float:
    """The model's confidence cut-off for a batch: the most permissive of the facilities' policies
    (each facility drops its own noise at validation)."""
    return min(policy_for(f, model_version_id).rules.min_confidence for f in set(facility_ids))
