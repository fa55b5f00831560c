"""The thresholds in force over the history: version N (the model's registration thresholds,
set two days before the history starts) and version N+1 (set by an operator 12 days before its
end, or half-way through a shorter history; the rare class a little lower), the active one.
Each photo is routed by the version in force when it arrived and records it, as the pipeline
does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max

from inspection.models import Facility, ModelVersion, ThresholdPolicy, ThresholdSource
from inspection.validation import Policy

SECOND_VERSION_BEFORE_END = timedelta(days=12)
FIRST_VERSION_BEFORE_START = timedelta(days=2)
CREATED_BY = "manage.py fill_history"


@dataclass(frozen=True)
class PolicyPeriod:
    starts: datetime
    policy: ThresholdPolicy
    rules: Policy


def policy_versions(
    facility: Facility, model: ModelVersion, start: datetime, end: datetime
) -> list[PolicyPeriod]:
    ThresholdPolicy.objects.filter(facility=facility, is_active=True).update(is_active=False)
    base = _registration_thresholds(model)
    lowered = {**base, **_lowered_rare_class(model, base)}
    version = _last_version(facility, model)
    first = _create(facility, model, version + 1, base, start - FIRST_VERSION_BEFORE_START, False)
    changed = end - min(SECOND_VERSION_BEFORE_END, (end - start) / 2)
    second = _create(facility, model, version + 2, lowered, changed, True)
    return [_period(first), _period(second)]


def in_force(periods: list[PolicyPeriod], at: datetime) -> PolicyPeriod:
    current = periods[0]
    for period in periods:
        if period.starts <= at:
            current = period
    return current


def _registration_thresholds(model: ModelVersion) -> dict[str, float]:
    given = {name: float(value) for name, value in dict(model.class_thresholds).items()}
    default = float(model.default_threshold)
    return {name: given.get(name, default) for name in model.class_names}


def _lowered_rare_class(model: ModelVersion, base: dict[str, float]) -> dict[str, float]:
    if len(model.class_names) < 3:
        return {}
    rare = model.class_names[2]
    return {rare: round(max(base[rare] - 0.05, 0.15), 3)}


def _last_version(facility: Facility, model: ModelVersion) -> int:
    rows = ThresholdPolicy.objects.filter(facility=facility, model_version=model)
    return rows.aggregate(last=Max("version"))["last"] or 0


def _create(
    facility: Facility,
    model: ModelVersion,
    version: int,
    thresholds: dict[str, float],
    created_at: datetime,
    active: bool,
) -> ThresholdPolicy:
    return ThresholdPolicy.objects.create(
        facility=facility,
        model_version=model,
        version=version,
        is_active=active,
        default_threshold=max(thresholds.values(), default=0.5),
        class_thresholds=thresholds,
        source=ThresholdSource.MANUAL,
        note="history",
        created_by=CREATED_BY,
        created_at=created_at,
    )


def _period(policy: ThresholdPolicy) -> PolicyPeriod:
    return PolicyPeriod(policy.created_at, policy, Policy.of(policy))
