"""Grid mode: many tasks on one screen, for images whose only reasons are low confidence (no
quality flag, no "no detections", no "no thresholds"): the reviewer looks over the thumbnails
with their boxes and accepts the selected ones at once. Tasks are claimed under leases exactly
like single mode (so nobody else gets them), and every accepted image gets its own decision and
audit row; the time since the claim is shared among the images accepted together."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from inspection.models import Image, ReviewDecision, ReviewTask
from inspection.review import leases
from inspection.review.access import User, deciding_facilities
from inspection.review.decisions import DecisionRefused, DecisionRequest, decide
from inspection.review.selectors import QueueFilters, only_low_confidence, queue_tasks

GRID_SIZE = 12


def grid_tasks(
    user: User, filters: QueueFilters, exclude: Collection[int] = ()
) -> list[ReviewTask]:
    """The user's grid: the low-confidence-only tasks they hold, topped up by claiming more in
    queue order, at most GRID_SIZE."""
    held = list(_eligible(leases.held_tasks(user)).exclude(pk__in=list(exclude)))
    held_ids = [task.pk for task in held]
    for _ in range(GRID_SIZE - len(held)):
        task = _claim_one(user, filters, [*exclude, *held_ids])
        if task is None:
            break
        held.append(task)
        held_ids.append(task.pk)
    return sorted(held, key=lambda task: (task.min_confidence or 0.0, task.created_at, task.pk))


def _eligible(tasks: QuerySet[ReviewTask]) -> QuerySet[ReviewTask]:
    return only_low_confidence(tasks).select_related("image", "facility")


def _claim_one(user: User, filters: QueueFilters, exclude: list[int]) -> ReviewTask | None:
    for _ in range(leases.CLAIM_ATTEMPTS):
        with transaction.atomic():
            now = timezone.now()
            tasks = queue_tasks(deciding_facilities(user), filters).filter(
                ReviewTask.claimable(now)
            )
            candidate = _eligible(tasks.exclude(pk__in=exclude)).first()
            if candidate is None:
                return None
            if candidate.claim(user, now, leases.lease_seconds()):
                return candidate
    return None


@dataclass
class GridResult:
    accepted: list[ReviewDecision] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def accept_selected(user: User, task_ids: Collection[int]) -> GridResult:
    """Accept the model's boxes on each selected task the user holds (each its own decision);
    a task that is not eligible or no longer held is refused with the reason."""
    tasks = _eligible(leases.held_tasks(user).filter(pk__in=list(task_ids)))
    found = list(tasks)
    result = GridResult()
    missing = len(set(task_ids)) - len(found)
    if missing:
        result.refused.append(f"{missing} image(s) were no longer yours or not grid images.")
    request = DecisionRequest(Image.Verdict.ACCEPTED, None, decided_together=len(found))
    for task in found:
        try:
            result.accepted.append(decide(task, user, request))
        except DecisionRefused as exc:
            result.refused.append(f"{task.image.original_name or task.image_id}: {exc}")
    return result


def leave_grid(user: User, task_ids: Collection[int]) -> int:
    """The grid page was left: its tasks stay reserved for the grace period only."""
    tasks = leases.held_tasks(user).filter(pk__in=list(task_ids))
    return sum(leases.leave(task, user) for task in tasks)
