"""Which threshold policy applies: the facility's active policy for the model version, else its
model-agnostic active policy, else the defaults."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from inspection.models import ThresholdPolicy
from inspection.validation import DEFAULT_POLICY, Policy


def policy_for(facility_id: Any, model_version_id: Any) -> Policy:
    rows = ThresholdPolicy.objects.filter(
        Q(model_version_id=model_version_id) | Q(model_version__isnull=True),
        facility_id=facility_id,
        is_active=True,
    )
    # The version-specific policy first (nulls sort last ascending on PostgreSQL and first on
    # SQLite, so order in Python).
    ranked = sorted(rows, key=lambda row: row.model_version_id is None)
    return Policy.of(ranked[0]) if ranked else DEFAULT_POLICY


def lowest_min_confidence(facility_ids: Iterable[Any], model_version_id: Any) -> float:
    """The model's confidence cut-off for a batch: the most permissive of the facilities' policies
    (each facility drops its own noise at validation)."""
    return min(policy_for(f, model_version_id).min_confidence for f in set(facility_ids))
