"""Deciding an audit task: a random share of auto-accepted images goes to review as well
(inspection.learning.sampling), and the reviewer decides it like any task, unaware that it is
an audit (docs/learning.md says why).

The image's result is the pipeline's until then, and an integrator may already have it. So:
- a verdict that keeps the model's boxes (an accept, unchanged) confirms the result: the audit
  row records it and the image is left as it is;
- a verdict that changes it (boxes moved, added, deleted or relabelled, or the image rejected)
  is never silent: the image takes the verdict and the reviewer's boxes like a reviewed image
  (the API shows them, with the review), and a `result.corrected` webhook names the image, in
  the verdict's transaction (committed with it, or not at all). A batch still processing gets
  none: its `batch.completed`, built after this commit, already shows the corrected result.

Either way the decision row (`ReviewDecision`, on a task of kind `audit`) is the measurement
inspection.learning.outcomes reads: the model's boxes before, the reviewer's after."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inspection.models import Batch, Image, ReviewDecision, ReviewTask
from inspection.review import verdicts
from inspection.review.access import SignedIn, User, require_decide
from inspection.review.batch_reviewed import locked_status
from inspection.review.boxes import Box, snapshot
from inspection.review.verdicts import DecisionRefused, DecisionRequest
from inspection.webhooks import delivery as webhooks


def decide(task: ReviewTask, user: User, request: DecisionRequest) -> ReviewDecision:
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
        changes = verdicts.changes(request, model_boxes, final)
        before = snapshot(image.status, model_boxes)
        if changes or request.verdict == Image.Verdict.REJECTED:
            _correct(image, reviewer, request, final, now)
        return verdicts.record(
            task, image, reviewer, now, request, claimed_at, before, final, changes
        )


def _correct(
    image: Image, reviewer: SignedIn, request: DecisionRequest, final: list[Box], now: datetime
) -> None:
    """The audit changed the result: store it as a review's, and announce it."""
    corrected = image.record_audit_correction(
        request.verdict, reviewer, now, request.reason, request.comment
    )
    if not corrected:
        raise DecisionRefused("This image's result has already been changed.")
    verdicts.store_boxes(image, final)
    # The batch row lock orders this with a completion committing now (see locked_status).
    if locked_status(image.batch_id) == Batch.Status.COMPLETED:
        webhooks.announce_result_corrected(image.batch_id, image.id)
