"""The thresholds a task is judged against, as the task page shows them: the per-class thresholds
that routed the image (its recorded policy version, else the model's registration thresholds,
else, for images routed before that was recorded, what applies now), whether they were
calibrated, and the review reasons in words."""

from __future__ import annotations

from inspection.models import Image, ThresholdSource
from inspection.pipeline.policies import AppliedPolicy, model_rules, policy_for
from inspection.validation import DRIFT, NO_THRESHOLDS, Policy

# Next to the model line: calibrated or not, said plainly.
SOURCE_TEXT = {
    ThresholdSource.CALIBRATED: "calibrated on labelled data",
    ThresholdSource.MANUAL: "uncalibrated (set per class by an operator)",
    ThresholdSource.UNIFORM: "uncalibrated (one threshold for every class)",
    ThresholdSource.REVIEW_ALL: "none yet (every image goes to review)",
}
REASON_TEXT = {
    NO_THRESHOLDS: "The model has no thresholds yet: everything goes to review",
    "no_detections": "No detections",
}


def routing_policy(image: Image) -> AppliedPolicy:
    """The thresholds that routed `image`."""
    row = image.policy  # None, without a query, when the image has no policy
    if row is not None:
        return AppliedPolicy(Policy.of(row), row.source, row.pk, row.version)
    if image.threshold_source and image.model_version is not None:
        return AppliedPolicy(model_rules(image.model_version), image.threshold_source)
    return policy_for(image.facility_id, image.model_version_id)


def class_threshold(applied: AppliedPolicy, class_name: str) -> float | None:
    """The class's threshold; None when the model has none (everything goes to review)."""
    if applied.rules.review_all:
        return None
    return applied.rules.threshold_for(class_name)


def source_text(applied: AppliedPolicy) -> str:
    text = SOURCE_TEXT.get(applied.source, applied.source)  # type: ignore[call-overload]
    return f"{text}, policy v{applied.version}" if applied.version is not None else text


def reason_text(reason: str, applied: AppliedPolicy) -> str:
    """One review reason in words, e.g. "Low confidence: damage (below 0.46)"."""
    kind, _, detail = reason.partition(":")
    if kind == "low_confidence" and detail:
        threshold = class_threshold(applied, detail)
        below = f" (below {threshold:.2f})" if threshold is not None else ""
        return f"Low confidence: {detail}{below}"
    if kind == DRIFT and detail:
        return f"Drift alert on {detail}: its images are reviewed until an admin acknowledges it"
    if kind == "quality" and detail:
        return f"Quality: {detail.replace('_', ' ')}"
    return REASON_TEXT.get(reason, reason)
