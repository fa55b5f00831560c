"""Shadow models and promotion: the writes. A facility's shadow model runs on the same images
after its active model (inspection/pipeline/shadow.py) and never routes anything. Promoting it
makes it the active model with its calibrated thresholds as a new policy version; rolling back
restores the model and thresholds the promotion replaced, again as a new policy version (old
versions are never changed). Every change is a ModelChange row (who, when, from what to what).

Inference workers pick changes up by themselves: each pool process loads active and shadow
versions at start and its model watcher loads newly set ones within seconds (runtime.py); the
next images preprocessed take the facility's active model of that moment.

`set_shadow(facility, model_version, by=None)` is the entry point for anything that produces a
candidate model (a command, a future "retrain from verdicts" job): register the weights
(inspection.inference.registry.register_model), then set them as shadow."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from inspection.inference import registry
from inspection.models import Facility, ModelChange, ModelVersion, ThresholdPolicy
from inspection.models import ThresholdSource as Source
from inspection.pipeline.policies import facility_policy
from inspection.services import DomainError
from inspection.services.policies import ThresholdChange, save_policy_version

Action = ModelChange.Action


class ShadowRefused(DomainError):
    code = "shadow_refused"


def author(by: object) -> str:
    """Who made a change, as the audit row names it: a user, an API key's words, or a command."""
    if by is None:
        return "system"
    if isinstance(by, str):
        return by
    name = getattr(by, "get_username", None)
    return f"user {name()}" if callable(name) else str(by)


def set_shadow(facility: Facility, model_version: ModelVersion, by: object = None) -> ModelChange:
    """Run `model_version` as the facility's shadow from the next inferred images on. Raises
    ShadowRefused when it is the active model or the shadow already."""
    with transaction.atomic():
        locked = _locked(facility)
        if locked.active_model_id == model_version.pk:
            raise ShadowRefused(f"{model_version} is {facility.slug}'s active model already.")
        if locked.shadow_model_id == model_version.pk:
            raise ShadowRefused(f"{model_version} is {facility.slug}'s shadow model already.")
        previous = locked.shadow_model
        _set_shadow_field(facility, model_version)
        return _audit(facility, Action.SHADOW_SET, by, model=model_version, previous_model=previous)


def clear_shadow(facility: Facility, by: object = None) -> ModelChange:
    """Stop running the facility's shadow (its boxes and the comparison stay)."""
    with transaction.atomic():
        locked = _locked(facility)
        if locked.shadow_model is None:
            raise ShadowRefused(f"{facility.slug} has no shadow model.")
        _set_shadow_field(facility, None)
        return _audit(facility, Action.SHADOW_CLEARED, by, previous_model=locked.shadow_model)


def promote(facility: Facility, by: object = None) -> ModelChange:
    """The shadow becomes the active model with its calibrated thresholds (a new policy version);
    the replaced model and the policy version that routed it are remembered for roll_back. The
    facility has no shadow afterwards. Raises ShadowRefused: no shadow, or no calibrated
    thresholds for it (calibrate them first)."""
    with transaction.atomic():
        locked = _locked(facility)
        shadow, active = locked.shadow_model, locked.active_model
        if shadow is None:
            raise ShadowRefused(f"{facility.slug} has no shadow model to promote.")
        previous_policy = facility_policy(facility.pk, active.pk) if active else None
        change = _calibrated(facility, shadow)
        policy = save_policy_version(facility, shadow, change, created_by=author(by))
        _set_shadow_field(facility, None)
        registry.activate_model(facility, shadow)
        return _audit(
            facility,
            Action.PROMOTE,
            by,
            model=shadow,
            policy=policy,
            previous_model=active,
            previous_policy=previous_policy,
        )


def roll_back(facility: Facility, by: object = None) -> ModelChange:
    """Undo the facility's last promotion: its previous model is active again, with the
    thresholds of the policy version that routed it then (copied into a new version). Raises
    ShadowRefused: no promotion to undo, or the promoted model is no longer active."""
    with transaction.atomic():
        locked = _locked(facility)
        promotion = _last_promotion(locked)
        previous = promotion.previous_model
        if previous is None:
            raise ShadowRefused("The last promotion replaced no model: nothing to restore.")
        change = _restoring(promotion, previous)
        policy = save_policy_version(facility, previous, change, created_by=author(by))
        if locked.shadow_model_id == previous.pk:  # set as shadow since: it is active again
            _set_shadow_field(facility, None)
        registry.activate_model(facility, previous)
        return _audit(
            facility,
            Action.ROLLBACK,
            by,
            model=previous,
            policy=policy,
            previous_model=promotion.model_version,
            previous_policy=promotion.policy,
            undoes=promotion,
        )


def _locked(facility: Facility) -> Facility:
    """The facility row, locked: changes of one facility's models happen one at a time."""
    return (
        Facility.objects.select_for_update(of=("self",))
        .select_related("active_model", "shadow_model")
        .get(pk=facility.pk)
    )


def _set_shadow_field(facility: Facility, model_version: ModelVersion | None) -> None:
    Facility.objects.filter(pk=facility.pk).update(shadow_model=model_version)
    facility.shadow_model = model_version


def _last_promotion(facility: Facility) -> ModelChange:
    promotion = (
        ModelChange.objects.filter(facility=facility, action=Action.PROMOTE)
        .select_related("model_version", "previous_model", "previous_policy", "policy")
        .first()
    )
    if promotion is None or ModelChange.objects.filter(undoes=promotion).exists():
        raise ShadowRefused(f"{facility.slug} has no promotion to roll back.")
    if facility.active_model_id != promotion.model_version_id:
        raise ShadowRefused(
            f"The promoted model {promotion.model_version} is no longer {facility.slug}'s active "
            "model: a later change replaced it, so there is nothing to roll back."
        )
    return promotion


def _calibrated(facility: Facility, shadow: ModelVersion) -> ThresholdChange:
    """The shadow's calibrated thresholds: the facility's active policy version for it, else the
    ones it was registered with."""
    row = ThresholdPolicy.objects.filter(
        facility=facility, model_version=shadow, is_active=True
    ).first()
    details: dict[str, object] = {"from": "promote"}
    if row is not None and row.is_calibrated:
        return _copy(row, f"promoted from shadow (thresholds of policy v{row.version})", details)
    if shadow.is_calibrated:
        return ThresholdChange(
            Source.CALIBRATED,
            dict(shadow.class_thresholds),
            shadow.default_threshold,
            note="promoted from shadow (thresholds calibrated at registration)",
            details={**details, "thresholds_from": "registration"},
        )
    raise ShadowRefused(
        f"{shadow} has no calibrated thresholds, so promoting it would route by guesses: "
        f"calibrate them first (manage.py calibrate_thresholds --model-version {shadow.pk} "
        f"--facility {facility.slug} --save ...)."
    )


def _restoring(promotion: ModelChange, previous: ModelVersion) -> ThresholdChange:
    details: dict[str, object] = {"from": "rollback", "promotion": promotion.pk}
    row = promotion.previous_policy
    if row is not None:
        return _copy(row, f"rolled back (thresholds of policy v{row.version})", details)
    return ThresholdChange(
        previous.threshold_source,
        dict(previous.class_thresholds),
        previous.default_threshold,
        note="rolled back (thresholds the model was registered with)",
        details={**details, "thresholds_from": "registration"},
    )


def _copy(row: ThresholdPolicy, note: str, details: dict[str, object]) -> ThresholdChange:
    """A policy version's thresholds and settings as a change (source and evidence kept)."""
    return ThresholdChange(
        row.source,
        dict(row.class_thresholds),
        row.default_threshold,
        row.min_confidence,
        note=note,
        details={**row.details, **details, "copied_from_policy": row.pk},
        review_if_no_detections=row.review_if_no_detections,
        review_on_quality_flags=row.review_on_quality_flags,
    )


def _audit(
    facility: Facility,
    action: str,
    by: object,
    model: ModelVersion | None = None,
    **fields: Any,
) -> ModelChange:
    return ModelChange.objects.create(
        facility=facility, action=action, model_version=model, created_by=author(by)[:200], **fields
    )
