"""Recording a reviewer's decision: one transaction that completes the task (only while the
reviewer holds it), stores the verdict on the image, writes the reviewer's boxes as new
Detection rows next to the model's, appends the audit row, and announces `batch.reviewed` when
this was the last review of a completed batch. An audit task (an auto-accepted image drawn for
audit) is decided by inspection.learning.audits instead: its image is not waiting for a verdict."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from inspection.learning import audits
from inspection.models import Image, ReviewDecision, ReviewTask
from inspection.review import verdicts
from inspection.review.access import User, require_decide
from inspection.review.batch_reviewed import announce_if_reviewed
from inspection.review.boxes import snapshot
from inspection.review.verdicts import REJECT_REASONS, DecisionRefused, DecisionRequest

__all__ = ["REJECT_REASONS", "DecisionRefused", "DecisionRequest", "decide"]


def decide(task: ReviewTask, user: User, request: DecisionRequest) -> ReviewDecision:
    if task.kind == ReviewTask.Kind.AUDIT:
        return audits.decide(task, user, request)
    reviewer = require_decide(user, task.facility_id)
    verdicts.check(request)
    now = timezone.now()
    with transaction.atomic():
        claimed_at = task.claimed_at
        if not task.complete(user, now):
            raise DecisionRefused("You no longer hold this task (its lease passed to someone).")
        image = Image.objects.select_for_update().get(pk=task.image_id)
        model_boxes = verdicts.model_boxes(image)
        final = verdicts.final_boxes(request, model_boxes)
        before = snapshot(image.status, model_boxes)
        if not image.record_verdict(request.verdict, user, now, request.reason, request.comment):
            raise DecisionRefused("This image has already been decided.")
        verdicts.store_boxes(image, final)
        changes = verdicts.changes(request, model_boxes, final)
        decision = verdicts.record(
            task, image, reviewer, now, request, claimed_at, before, final, changes
        )
        announce_if_reviewed(image.batch_id)
    return decision
