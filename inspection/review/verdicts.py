"""What every verdict shares, a review's or an audit's (inspection.review.decisions,
inspection.learning.audits): the request, its checks, the final boxes and what changed, and
the reviewer's boxes written as Detection rows next to the model's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User as SignedIn

from inspection.models import Detection, Image, ReviewDecision, ReviewTask
from inspection.review.boxes import Box, changed_classes, snapshot

# Reject reasons offered by the task page (codes are stored; labels are shown).
REJECT_REASONS = {
    "unusable_image": "Image unusable (retake / camera fault)",
    "no_package": "No package in the picture",
    "ambiguous": "Cannot be labelled reliably",
    "other": "Other (say why in the comment)",
}


class DecisionRefused(Exception):
    """The decision cannot be recorded; `str()` says why, for the reviewer."""


@dataclass(frozen=True)
class DecisionRequest:
    """`boxes=None` accepts the model's boxes as they are; a list is the corrected answer."""

    verdict: str
    boxes: list[Box] | None = None
    reason: str = ""
    comment: str = ""
    # Tasks decided together (grid mode): the time since the claim is shared among them.
    decided_together: int = 1


def check(request: DecisionRequest) -> None:
    if request.verdict not in Image.Verdict.values:
        raise DecisionRefused("Unknown verdict.")
    if request.verdict == Image.Verdict.REJECTED and request.reason not in REJECT_REASONS:
        raise DecisionRefused("Choose a reason to reject.")


def model_boxes(image: Image) -> list[Box]:
    return [Box.of(d) for d in image.detections.filter(source=Detection.Source.MODEL)]


def final_boxes(request: DecisionRequest, model: list[Box]) -> list[Box]:
    if request.verdict == Image.Verdict.REJECTED:
        return []
    return model if request.boxes is None else request.boxes


def changes(request: DecisionRequest, model: list[Box], final: list[Box]) -> list[str]:
    # A reject says the picture is unusable, not that the boxes were wrong: no override.
    if request.verdict == Image.Verdict.REJECTED:
        return []
    return changed_classes(model, final)


def action(request: DecisionRequest, changed: list[str]) -> str:
    if request.verdict == Image.Verdict.REJECTED:
        return ReviewDecision.Action.REJECT
    if changed:
        return ReviewDecision.Action.CORRECT
    return ReviewDecision.Action.ACCEPT


def seconds_spent(claimed_at: datetime | None, now: datetime, together: int) -> float | None:
    if claimed_at is None:
        return None
    return (now - claimed_at).total_seconds() / max(together, 1)


def store_boxes(image: Image, boxes: list[Box]) -> None:
    Detection.objects.bulk_create(
        Detection(
            image=image,
            source=Detection.Source.REVIEWER,
            class_id=box.class_id,
            class_name=box.class_name,
            confidence=None,
            x1=box.x1,
            y1=box.y1,
            x2=box.x2,
            y2=box.y2,
            accepted=True,
        )
        for box in boxes
    )


def record(
    task: ReviewTask,
    image: Image,
    reviewer: SignedIn,
    now: datetime,
    request: DecisionRequest,
    claimed_at: datetime | None,
    before: dict[str, object],
    final: list[Box],
    changed: list[str],
) -> ReviewDecision:
    """The decision's audit row, a review's or an audit's alike."""
    return ReviewDecision.objects.create(
        task=task,
        image=image,
        facility_id=task.facility_id,
        decided_by=reviewer,
        decided_at=now,
        action=action(request, changed),
        verdict=request.verdict,
        reason=request.reason,
        comment=request.comment,
        before=before,
        after=snapshot(image.status, final),
        changed=bool(changed),
        changed_classes=changed,
        seconds_spent=seconds_spent(claimed_at, now, request.decided_together),
    )
