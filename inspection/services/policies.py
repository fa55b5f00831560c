"""Threshold policy versions. Every change of a facility's thresholds, whatever made it (a
calibration on labelled data, an operator's numbers per class, one threshold for every class,
or "everything to review"), is a new version: earlier versions are kept, the previously active
one is deactivated in the same transaction, and the row says who wrote it and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from inspection.models import Facility, ModelVersion, ThresholdPolicy, ThresholdSource
from inspection.services import DomainError

DEFAULT_MIN_CONFIDENCE = 0.1
DEFAULT_THRESHOLD = 0.5


class InvalidThresholds(DomainError):
    code = "invalid_thresholds"


@dataclass(frozen=True)
class ThresholdChange:
    """What an operator or a calibration sets. `default_threshold` applies to classes without
    their own; None keeps the previous version's (0.5 for a first version). `min_confidence`
    None keeps the previous version's too."""

    source: str
    class_thresholds: Mapping[str, float] = field(default_factory=dict)
    default_threshold: float | None = None
    min_confidence: float | None = None
    note: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    # None keeps the previous version's (True for a first version); a rollback restoring a
    # version sets them (inspection/services/shadow.py).
    review_if_no_detections: bool | None = None
    review_on_quality_flags: bool | None = None

    @classmethod
    def of(
        cls,
        class_thresholds: Mapping[str, float],
        default_threshold: float | None = None,
        review_all: bool = False,
        **kwargs: Any,
    ) -> ThresholdChange:
        """An operator's choice, its source named by what it holds."""
        if review_all:
            if class_thresholds or default_threshold is not None:
                raise InvalidThresholds("Everything to review takes no thresholds.")
            return cls(ThresholdSource.REVIEW_ALL, **kwargs)
        source = ThresholdSource.MANUAL if class_thresholds else ThresholdSource.UNIFORM
        return cls(source, dict(class_thresholds), default_threshold, **kwargs)


def check_change(change: ThresholdChange, class_names: Sequence[str] | None) -> None:
    """Values are probabilities; classes are the model's; every class of the model gets a
    threshold, its own or an explicit default (never a silent 0.5). Raises InvalidThresholds."""
    _check_values(change)
    if change.source == ThresholdSource.REVIEW_ALL or class_names is None:
        return
    unknown = sorted(set(change.class_thresholds) - set(class_names))
    if unknown:
        raise InvalidThresholds(
            f"Not classes of this model: {', '.join(unknown)} "
            f"(its classes: {_listed(class_names)})."
        )
    if change.default_threshold is None and change.source != ThresholdSource.CALIBRATED:
        missing = [name for name in class_names if name not in change.class_thresholds]
        if missing:
            raise InvalidThresholds(
                f"No threshold for {len(missing)} class(es): {_listed(missing)}. Give each "
                "class a threshold, or a default threshold for the rest."
            )


def _check_values(change: ThresholdChange) -> None:
    if change.source not in ThresholdSource.values:
        raise InvalidThresholds(f"Unknown threshold source {change.source!r}.")
    if change.source == ThresholdSource.UNIFORM and change.default_threshold is None:
        raise InvalidThresholds("One threshold for every class needs that threshold.")
    named: dict[str, float | None] = {f"class {k!r}": v for k, v in change.class_thresholds.items()}
    named |= {
        "default threshold": change.default_threshold,
        "min confidence": change.min_confidence,
    }
    for name, value in named.items():
        if value is not None and not (isinstance(value, (int, float)) and 0 <= value <= 1):
            raise InvalidThresholds(f"The {name} must be a number from 0 to 1, not {value!r}.")


def _listed(names: Sequence[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"


def active_policy(facility: Facility, model_version: ModelVersion | None) -> ThresholdPolicy | None:
    return ThresholdPolicy.objects.filter(
        facility=facility, model_version=model_version, is_active=True
    ).first()


def save_policy_version(
    facility: Facility,
    model_version: ModelVersion | None,
    change: ThresholdChange,
    created_by: str = "",
) -> ThresholdPolicy:
    """A new active version for the facility and model (None: any model). Settings the change
    does not decide are carried over from the version it replaces."""
    check_change(change, list(model_version.class_names) if model_version else None)
    with transaction.atomic():
        rows = ThresholdPolicy.objects.filter(facility=facility, model_version=model_version)
        locked = list(rows.select_for_update())
        previous = next((row for row in locked if row.is_active), None)
        version = max((row.version for row in locked), default=0) + 1
        rows.filter(is_active=True).update(is_active=False)
        carried = _carried(previous, change)
        _check_noise_floor(change, carried)
        return ThresholdPolicy.objects.create(
            facility=facility,
            model_version=model_version,
            version=version,
            is_active=True,
            source=change.source,
            class_thresholds={
                name: float(value) for name, value in change.class_thresholds.items()
            },
            **carried,
            note=change.note[:200],
            created_by=created_by[:200],
            details=dict(change.details),
        )


def _check_noise_floor(change: ThresholdChange, carried: dict[str, Any]) -> None:
    """A box below `min_confidence` is dropped as noise: above a threshold, it would silently
    drop boxes that threshold means to accept or send to review."""
    if change.source == ThresholdSource.REVIEW_ALL:
        return
    floor = carried["min_confidence"]
    thresholds = dict(change.class_thresholds)
    if change.default_threshold is not None or change.source == ThresholdSource.UNIFORM:
        thresholds["the default"] = carried["default_threshold"]
    above = sorted(name for name, value in thresholds.items() if value < floor)
    if above:
        raise InvalidThresholds(
            f"min_confidence {floor} is above the threshold of {', '.join(above)}: boxes between "
            "would be dropped as noise. Lower min_confidence or raise the threshold."
        )


def _carried(previous: ThresholdPolicy | None, change: ThresholdChange) -> dict[str, object]:
    def pick(given: float | None, earlier: float | None, default: float) -> float:
        if given is not None:
            return float(given)
        return float(earlier) if earlier is not None else default

    return {
        "default_threshold": pick(
            change.default_threshold,
            previous.default_threshold if previous else None,
            DEFAULT_THRESHOLD,
        ),
        "min_confidence": pick(
            change.min_confidence,
            previous.min_confidence if previous else None,
            DEFAULT_MIN_CONFIDENCE,
        ),
        "review_if_no_detections": _flag(
            change.review_if_no_detections, previous.review_if_no_detections if previous else None
        ),
        "review_on_quality_flags": _flag(
            change.review_on_quality_flags, previous.review_on_quality_flags if previous else None
        ),
    }


def _flag(given: bool | None, earlier: bool | None) -> bool:
    if given is not None:
        return given
    return earlier if earlier is not None else True


def model_threshold_fields(change: ThresholdChange, class_names: Sequence[str]) -> dict[str, Any]:
    """A model's registration thresholds (ModelVersion fields), checked like a policy version."""
    check_change(change, class_names)
    return {
        "threshold_source": change.source,
        "default_threshold": (
            DEFAULT_THRESHOLD if change.default_threshold is None else change.default_threshold
        ),
        "class_thresholds": {name: float(value) for name, value in change.class_thresholds.items()},
        "threshold_note": change.note[:200],
    }
