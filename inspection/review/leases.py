"""Claiming review tasks under a lease. A reviewer holds at most one task at a time; "next"
hands back the task they already hold, otherwise claims the head of the queue.

Two reviewers never hold the same task: the claim itself is a conditional UPDATE (open, or
claimed with an expired lease) that one caller wins. On PostgreSQL the candidate row is also
read with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent reviewers take different tasks
instead of queueing on the same row; elsewhere a loser simply tries the next candidate.

Leaving a task page (reload, Back, Forward, closing the tab) does not release the task at once: it
shortens the lease to LEAVE_GRACE_SECONDS, so the same reviewer coming straight back (a reload
is the common case) still holds it, while a reviewer who really left frees it for others within
seconds. The open page renews every HEARTBEAT_SECONDS and so learns of a lost lease that fast."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from inspection.models import ReviewTask, conditional_update
from inspection.review.access import User, deciding_facilities, require_decide
from inspection.review.selectors import QueueFilters, queue_tasks

# Losing a race costs one more candidate; after this many the queue is too contended to chase.
CLAIM_ATTEMPTS = 5
# Seconds: how often an open task page renews its lease (and so how late it can learn the task
# is no longer its reviewer's), and how long a task stays reserved after its page was left.
HEARTBEAT_SECONDS = 5
LEAVE_GRACE_SECONDS = 30


def lease_seconds() -> int:
    return int(settings.REVIEW_LEASE_SECONDS)


def held_task(user: User, exclude: Collection[int] = ()) -> ReviewTask | None:
    """The task the user holds under a live lease, if any (the earliest claimed)."""
    return held_tasks(user).exclude(pk__in=list(exclude)).order_by("claimed_at").first()


def held_tasks(user: User) -> QuerySet[ReviewTask]:
    if not user.is_authenticated:  # holds nothing (and is no user id to filter on)
        return ReviewTask.objects.none()
    return ReviewTask.objects.filter(
        status=ReviewTask.Status.CLAIMED,
        claimed_by=user,
        lease_expires_at__gt=timezone.now(),
        facility__in=deciding_facilities(user),
    )


def claim_next(
    user: User, filters: QueueFilters | None = None, exclude: Collection[int] = ()
) -> ReviewTask | None:
    """The user's held task, or the next claimable one in queue order; None when empty.
    Tasks in `exclude` (the ones the reviewer skipped) are neither resumed nor claimed."""
    held = held_task(user, exclude)
    if held is not None:
        return held
    for _ in range(CLAIM_ATTEMPTS):
        with transaction.atomic():
            now = timezone.now()
            candidate = _candidates(user, filters or QueueFilters(), now, exclude).first()
            if candidate is None:
                return None
            if candidate.claim(user, now, lease_seconds()):
                return candidate
    return None


def upcoming(user: User, filters: QueueFilters, exclude: Collection[int]) -> ReviewTask | None:
    """The task "next" would most likely claim after the current one, without claiming it
    (its image is fetched ahead so it shows at once)."""
    tasks = queue_tasks(deciding_facilities(user), filters).filter(
        ReviewTask.claimable(timezone.now())
    )
    return tasks.exclude(pk__in=list(exclude)).select_related("image").first()


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


def leave(task: ReviewTask, user: User) -> bool:
    """The page was left: keep the task for the same reviewer a few seconds more, not longer
    than the lease it has (an expired lease is not extended)."""
    now = timezone.now()
    soon = now + timedelta(seconds=LEAVE_GRACE_SECONDS)
    mine = Q(status=ReviewTask.Status.CLAIMED, claimed_by=user, lease_expires_at__gt=soon)
    return conditional_update(task, mine, {"lease_expires_at": soon})


def _candidates(
    user: User, filters: QueueFilters, now: datetime, exclude: Collection[int]
) -> QuerySet[ReviewTask]:
    tasks = queue_tasks(deciding_facilities(user), filters).filter(ReviewTask.claimable(now))
    tasks = tasks.exclude(pk__in=list(exclude))
    if connection.features.has_select_for_update_skip_locked:
        tasks = tasks.select_for_update(skip_locked=True, of=("self",))
    return tasks


def lost_lease_message(task: ReviewTask, user: User) -> str:
    """Why the user no longer holds `task`, in one line for the page."""
    task.refresh_from_db(fields=["status", "claimed_by", "lease_expires_at"])
    if task.status == ReviewTask.Status.DONE:
        return "This task has been decided."
    holder = task.claimed_by
    if task.status == ReviewTask.Status.CLAIMED and holder is not None and holder != user:
        if task.lease_expires_at and task.lease_expires_at > timezone.now():
            return f"This task is no longer yours: {holder.get_username()} is reviewing it."
    return "This task is no longer yours: it went back to the queue. Claim it again to decide."
