"""Claiming review tasks under a lease. A reviewer holds at most one task at a time; "next"
hands back the task they already hold, otherwise claims the head of the queue.

Two reviewers never hold the same task: the claim itself is a conditional UPDATE (open, or
claimed with an expired lease) that one caller wins. On PostgreSQL the candidate row is also
read with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent reviewers take different tasks
instead of queueing on the same row; elsewhere a loser simply tries the next candidate."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inspection.models import ReviewTask
from inspection.review.access import User, deciding_facilities, require_decide
from inspection.review.selectors import QueueFilters, queue_tasks

# Losing a race costs one more candidate; after this many the queue is too contended to chase.
CLAIM_ATTEMPTS = 5


def lease_seconds() -> int:
    return int(settings.REVIEW_LEASE_SECONDS)


def held_task(user: User) -> ReviewTask | None:
    """The task the user holds under a live lease, if any."""
    now = timezone.now()
    return (
        ReviewTask.objects.filter(
            status=ReviewTask.Status.CLAIMED,
            claimed_by=user,
            lease_expires_at__gt=now,
            facility__in=deciding_facilities(user),
        )
        .order_by("claimed_at")
        .first()
    )


def claim_next(user: User, filters: QueueFilters | None = None) -> ReviewTask | None:
    """The user's held task, or the next claimable one in queue order; None when empty."""
    held = held_task(user)
    if held is not None:
        return held
    for _ in range(CLAIM_ATTEMPTS):
        with transaction.atomic():
            now = timezone.now()
            candidate = _candidate(user, filters or QueueFilters(), now)
            if candidate is None:
                return None
            if candidate.claim(user, now, lease_seconds()):
                return candidate
    return None


def claim_task(task: ReviewTask, user: User) -> bool:
    """Claim one given task (opened from the queue list); True if the user now holds it."""
    require_decide(user, task.facility_id)
    now = timezone.now()
    if task.held_by(user, now):
        return True
    return task.claim(user, now, lease_seconds())


def renew(task: ReviewTask, user: User) -> bool:
    return task.renew(user, timezone.now(), lease_seconds())


def release(task: ReviewTask, user: User) -> bool:
    return task.release(user)


def _candidate(user: User, filters: QueueFilters, now: object) -> ReviewTask | None:
    tasks = queue_tasks(deciding_facilities(user), filters).filter(ReviewTask.claimable(now))
    if connection.features.has_select_for_update_skip_locked:
        tasks = tasks.select_for_update(skip_locked=True, of=("self",))
    return tasks.first()
