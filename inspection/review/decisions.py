"""Recording a reviewer's decision: one transaction that completes the task (only while the
reviewer holds it), stores the verdict on the image, writes the reviewer's boxes as new
Detection rows next to the model's, appends the audit row, and announces `batch.reviewed` when
this was the last review of a completed batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inspection.models import Detection, Image, ReviewDecision, ReviewTask
from inspection.review.access import User, require_decide
from inspection.review.batch_reviewed import announce_if_reviewed
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


def decide(task: ReviewTask, user: User, request: DecisionRequest) -> ReviewDecision:
    reviewer = require_decide(user, task.facility_id)
    _check(request)
    now = timezone.now()
    with transaction.atomic():
        claimed_at = task.claimed_at
        if not task.complete(user, now):
            raise DecisionRefused("You no longer hold this task (its lease passed to someone).")
        image = Image.objects.select_for_update().get(pk=task.image_id)
        model_boxes = [Box.of(d) for d in image.detections.filter(source=Detection.Source.MODEL)]
        final = _final_boxes(request, model_boxes)
        before = snapshot(image.status, model_boxes)
        if not image.record_verdict(request.verdict, user, now, request.reason, request.comment):
            raise DecisionRefused("This image has already been decided.")
        _store_boxes(image, final)
        changes = _changes(request, model_boxes, final)
        decision = ReviewDecision.objects.create(
            task=task,
            image=image,
            facility_id=task.facility_id,
            decided_by=reviewer,
            decided_at=now,
            action=_action(request, changes),
            verdict=request.verdict,
            reason=request.reason,
            comment=request.comment,
            before=before,
            after=snapshot(image.status, final),
            changed=bool(changes),
            changed_classes=changes,
            seconds_spent=_seconds_spent(claimed_at, now, request.decided_together),
        )
        announce_if_reviewed(image.batch_id)
    return decision


def _seconds_spent(claimed_at: datetime | None, now: datetime, together: int) -> float | None:
    if claimed_at is None:
        return None
    return (now - claimed_at).total_seconds() / max(together, 1)


def _check(request: DecisionRequest) -> None:
    if request.verdict not in Image.Verdict.values:
        raise DecisionRefused("Unknown verdict.")
    if request.verdict == Image.Verdict.REJECTED and request.reason not in REJECT_REASONS:
        raise DecisionRefused("Choose a reason to reject.")


def _final_boxes(request: DecisionRequest, model_boxes: list[Box]) -> list[Box]:
    if request.verdict == Image.Verdict.REJECTED:
        return []
    return model_boxes if request.boxes is None else request.boxes


def _changes(request: DecisionRequest, model_boxes: list[Box], final: list[Box]) -> list[str]:
    # A reject says the picture is unusable, not that the boxes were wrong: no override.
    if request.verdict == Image.Verdict.REJECTED:
        return []
    return changed_classes(model_boxes, final)


def _action(request: DecisionRequest, changes: list[str]) -> str:
    if request.verdict == Image.Verdict.REJECTED:
        return ReviewDecision.Action.REJECT
    if changes:
        return ReviewDecision.Action.CORRECT
    return ReviewDecision.Action.ACCEPT


def _store_boxes(image: Image, boxes: list[Box]) -> None:
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
