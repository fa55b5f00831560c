"""Taking back a decision: its reviewer may undo their latest decision on a task for
UNDO_SECONDS. The audit trail stays append-only: a new `undo` row names the decision it takes
back (one-to-one, so a decision is undone once) and both rows stay. The image waits for review
again (verdict cleared, the reviewer's Detection rows of the undone answer removed: the
decision's `after` keeps them), and the task is claimed by the same reviewer again, so they can
decide it anew; any other task they held goes back to the queue (one task at a time).

Webhooks: once a batch's `batch.reviewed` has been created (the last review of a completed batch
was decided), the integrator is being told the results are final, so a decision of that batch
can no longer be undone (the answer says why). Until then an undo only reopens a review, which
`review_pending` already allows for."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inspection.models import (
    Detection,
    Image,
    ReviewDecision,
    ReviewTask,
    WebhookDelivery,
    conditional_update,
)
from inspection.review.access import SignedIn, User, require_decide
from inspection.review.boxes import Box, snapshot
from inspection.review.decisions import DecisionRefused
from inspection.review.leases import held_tasks, lease_seconds

UNDO_SECONDS = 120
Action = ReviewDecision.Action


def undo_deadline(decision: ReviewDecision) -> datetime:
    return decision.decided_at + timedelta(seconds=UNDO_SECONDS)


def why_not(decision: ReviewDecision, user: User, now: datetime) -> str:
    """Why `user` cannot undo `decision` now ("" when they can)."""
    if decision.decided_by_id != getattr(user, "pk", None):
        return "Only the reviewer who decided can undo it."
    if decision.task.kind == ReviewTask.Kind.AUDIT:
        # Its image was accepted before the audit, and a correction was announced at once.
        return "An audit verdict cannot be undone."
    if decision.action == Action.UNDO or hasattr(decision, "undone_by"):
        return "This decision has already been undone."
    if now > undo_deadline(decision):
        return f"Too late to undo: decisions can be undone for {UNDO_SECONDS} s."
    if decision.task.decisions.filter(decided_at__gt=decision.decided_at).exists():
        return "A later decision on this task came after it."
    if _announced(decision.image.batch_id):
        return (
            "Too late to undo: this batch's review is complete and the integrator is being "
            "told its results (batch.reviewed)."
        )
    return ""


def undoable(decisions: list[ReviewDecision], user: User) -> bool:
    now = timezone.now()
    return bool(decisions) and not any(why_not(d, user, now) for d in decisions)


def undo(decisions: list[ReviewDecision], user: User) -> list[ReviewDecision]:
    """Take back `decisions` (one, or a grid's accepts made together), all or none; returns the
    undo rows. Raises DecisionRefused with the reason."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            ReviewDecision.objects.select_for_update().filter(pk__in=[d.pk for d in decisions])
        )
        if not rows:
            raise DecisionRefused("There is no decision to undo.")
        for decision in rows:
            reviewer = require_decide(user, decision.facility_id)
            refused = why_not(decision, user, now)
            if refused:
                raise DecisionRefused(refused)
        _release_others(reviewer, {decision.task_id for decision in rows})
        return [_undo_one(decision, reviewer, now) for decision in rows]


def _undo_one(decision: ReviewDecision, user: SignedIn, now: datetime) -> ReviewDecision:
    image = Image.objects.select_for_update().get(pk=decision.image_id)
    if not _reopen_image(image, decision, now):
        raise DecisionRefused("The image's result changed since; it cannot be undone.")
    Detection.objects.filter(image=image, source=Detection.Source.REVIEWER).delete()
    _reclaim(decision.task, user, now)
    return ReviewDecision.objects.create(
        task=decision.task,
        image=image,
        facility_id=decision.facility_id,
        decided_by=user,
        decided_at=now,
        action=Action.UNDO,
        before=decision.after,
        after=snapshot(image.status, [Box.of(d) for d in image.model_detections()]),
        undoes=decision,
    )


def _announced(batch_id: uuid.UUID) -> bool:
    event = WebhookDelivery.Event.BATCH_REVIEWED
    return WebhookDelivery.objects.filter(batch_id=batch_id, event=event).exists()


def _reopen_image(image: Image, decision: ReviewDecision, now: datetime) -> bool:
    decided = Q(verdict=decision.verdict, status=decision.after.get("status"))
    fields = {
        "status": Image.Status.NEEDS_REVIEW,
        "verdict": "",
        "reviewed_by": None,
        "reviewed_at": None,
        "reason": "",
        "reason_detail": "",
        "updated_at": now,
    }
    if not conditional_update(image, decided, fields):
        return False
    image.refresh_from_db()
    return True


def _release_others(user: User, keep: set[int]) -> None:
    for other in held_tasks(user).exclude(pk__in=keep):
        other.release(user)


def _reclaim(task: ReviewTask, user: User, now: datetime) -> None:
    fields = {
        "status": ReviewTask.Status.CLAIMED,
        "claimed_by": user,
        "claimed_at": now,
        "lease_expires_at": now + timedelta(seconds=lease_seconds()),
        "completed_at": None,
    }
    if not conditional_update(task, Q(status=ReviewTask.Status.DONE), fields):
        raise DecisionRefused("The task is not decided any more; nothing to undo.")
