"""Reads for the review UI: the queue (lowest confidence first, then oldest), its summary, and
reviewer statistics. Every function takes the caller's facilities as a queryset."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, Min, OrderBy, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from inspection.models import Detection, Facility, ReviewDecision, ReviewTask

FacilityScope = QuerySet[Facility]

# Reason filters: the prefix of `ReviewTask.reasons` entries ("low_confidence:<class>",
# "quality:<flag>", "no_detections", "no_thresholds", "drift:<class>"); a model being unsure is
# not a camera problem.
REASON_KINDS = {
    "low_confidence": "Low confidence",
    "quality": "Quality flag",
    "no_detections": "No detections",
    "no_thresholds": "No thresholds yet",
    "drift": "Drift alert",
}


@dataclass(frozen=True)
class QueueFilters:
    facility: str = ""
    class_name: str = ""
    reason: str = ""

    def as_query(self) -> dict[str, str]:
        names = {"facility": self.facility, "class": self.class_name, "reason": self.reason}
        return {key: value for key, value in names.items() if value}


def queue_order() -> list[str | OrderBy]:
    # Tasks without a detection (min_confidence null) are the least certain of all: first.
    return [F("min_confidence").asc(nulls_first=True), "created_at", "pk"]


def queue_tasks(facilities: FacilityScope, filters: QueueFilters) -> QuerySet[ReviewTask]:
    """Tasks waiting for a decision (open or claimed), in queue order."""
    tasks = ReviewTask.objects.filter(
        facility__in=facilities, status__in=(ReviewTask.Status.OPEN, ReviewTask.Status.CLAIMED)
    )
    if filters.facility:
        tasks = tasks.filter(facility__slug=filters.facility)
    if filters.class_name:
        tasks = tasks.filter(Exists(_model_boxes(filters.class_name)))
    if filters.reason in REASON_KINDS:
        # Prefix match inside the JSON list, portable across PostgreSQL and SQLite.
        tasks = tasks.annotate(reasons_text=Cast("reasons", TextField())).filter(
            reasons_text__contains=f'"{filters.reason}'
        )
    return tasks.order_by(*queue_order())


# Grid mode takes only tasks whose every reason is a low-confidence one: matched on the JSON
# text of `reasons` (PostgreSQL writes `["a", "b"]`, SQLite `["a","b"]`).
ONLY_LOW_CONFIDENCE = r'^\[("low_confidence:[^"]*", ?)*"low_confidence:[^"]*"\]$'


def only_low_confidence(tasks: QuerySet[ReviewTask]) -> QuerySet[ReviewTask]:
    text = Cast("reasons", TextField())
    return tasks.annotate(reasons_json=text).filter(reasons_json__regex=ONLY_LOW_CONFIDENCE)


def _model_boxes(class_name: str) -> QuerySet[Detection]:
    return Detection.objects.filter(
        image_id=OuterRef("image_id"), source=Detection.Source.MODEL, class_name=class_name
    )


def queue_page(facilities: FacilityScope, filters: QueueFilters, limit: int = 100) -> list:
    tasks = queue_tasks(facilities, filters).select_related("facility", "image", "claimed_by")
    return list(tasks[:limit])


@dataclass(frozen=True)
class QueueSummary:
    facility: str
    waiting: int
    claimed: int
    oldest: datetime | None

    @property
    def oldest_age(self) -> timedelta | None:
        return timezone.now() - self.oldest if self.oldest else None


def queue_summary(facilities: FacilityScope, filters: QueueFilters) -> list[QueueSummary]:
    """Per facility: tasks waiting, tasks under a live lease, the oldest waiting task."""
    now = timezone.now()
    live = Q(status=ReviewTask.Status.CLAIMED, lease_expires_at__gt=now)
    rows = (
        queue_tasks(facilities, filters)
        .order_by()
        .values("facility__slug")
        .annotate(waiting=Count("pk"), claimed=Count("pk", filter=live), oldest=Min("created_at"))
        .order_by("facility__slug")
    )
    return [
        QueueSummary(row["facility__slug"], row["waiting"], row["claimed"], row["oldest"])
        for row in rows
    ]


def queue_classes(facilities: FacilityScope) -> list[str]:
    """Class names the model proposed on images waiting for review (the class filter)."""
    waiting = queue_tasks(facilities, QueueFilters()).values("image_id")
    names = Detection.objects.filter(image_id__in=waiting, source=Detection.Source.MODEL)
    return sorted(set(names.values_list("class_name", flat=True)))


# --- statistics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Overrides:
    """The override rate of one group of standing decisions: how many changed the model's
    answer (boxes or classes; a reject is not an override) out of how many."""

    key: str
    decisions: int
    changed: int

    @property
    def rate(self) -> float:
        return self.changed / self.decisions if self.decisions else 0.0


def overrides_by(decisions: QuerySet[ReviewDecision], field: str) -> dict[str, Overrides]:
    """The override rate per value of `field` (a facility's slug, a reviewer's username): the
    one definition the statistics page and the metrics share."""
    rows = (
        decisions.order_by()
        .values(field)
        .annotate(n=Count("pk"), changed=Count("pk", filter=Q(changed=True)))
    )
    return {row[field]: Overrides(row[field], row["n"], row["changed"]) for row in rows}


@dataclass(frozen=True)
class ReviewerStats:
    reviewer: str
    done: int
    median_seconds: float | None
    changed: int
    rejected: int

    @property
    def override_rate(self) -> float:
        return Overrides(self.reviewer, self.done, self.changed).rate


@dataclass(frozen=True)
class ClassOverride:
    class_name: str
    decisions: int
    overridden: int

    @property
    def rate(self) -> float:
        return self.overridden / self.decisions if self.decisions else 0.0


def decisions_since(facilities: FacilityScope, since: datetime) -> QuerySet[ReviewDecision]:
    """Decisions that stand (undo rows and the decisions they took back are left out)."""
    decisions = ReviewDecision.objects.filter(facility__in=facilities, decided_at__gte=since)
    return decisions.effective()


def task_history(task: ReviewTask) -> list[ReviewDecision]:
    """Every audit row of the task, oldest first: decisions, undos, their comments."""
    rows = task.decisions.select_related("decided_by").order_by("decided_at", "pk")
    return list(rows)


def reviewer_stats(decisions: QuerySet[ReviewDecision]) -> list[ReviewerStats]:
    """Tasks done, median seconds from claim to decision, overrides and rejects per reviewer."""
    reviewer = "decided_by__username"
    overrides = overrides_by(decisions, reviewer)
    grouped: dict[str, list[tuple[float | None, str]]] = defaultdict(list)
    for username, seconds, verdict in decisions.values_list(reviewer, "seconds_spent", "verdict"):
        grouped[username].append((seconds, verdict))
    return [_reviewer(overrides[name], grouped[name]) for name in sorted(grouped)]


def _reviewer(overrides: Overrides, rows: list[tuple[float | None, str]]) -> ReviewerStats:
    times = [seconds for seconds, _ in rows if seconds is not None]
    return ReviewerStats(
        reviewer=overrides.key,
        done=overrides.decisions,
        median_seconds=statistics.median(times) if times else None,
        changed=overrides.changed,
        rejected=sum(1 for _, verdict in rows if verdict == "rejected"),
    )


def override_by_class(decisions: QuerySet[ReviewDecision]) -> list[ClassOverride]:
    """Per class: accepted decisions whose before or after holds the class, and how many of
    them changed its boxes (moved, resized, relabelled, added or deleted)."""
    seen: dict[str, int] = defaultdict(int)
    overridden: dict[str, int] = defaultdict(int)
    accepted = decisions.filter(verdict="accepted")
    for before, after, changed in accepted.values_list("before", "after", "changed_classes"):
        for name in _classes(before) | _classes(after):
            seen[name] += 1
            overridden[name] += name in changed
    return [ClassOverride(name, seen[name], overridden[name]) for name in sorted(seen)]


def _classes(snapshot: dict) -> set[str]:
    return {box["class_name"] for box in snapshot.get("boxes", [])}
