"""`fill_history`: a facility's last DAYS days of traffic, written in one transaction, a day of
batches at a time (memory stays flat), then VACUUM ANALYZE so the planner knows the tables."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from inspection.analytics import rollups
from inspection.analytics.history import rows as r
from inspection.analytics.history.copy import TableCopy, reserve_ids, vacuum_analyze
from inspection.analytics.history.outcomes import Incidents, World
from inspection.analytics.history.thresholds import policy_versions
from inspection.analytics.history.traffic import PlannedBatch, plan_batches
from inspection.analytics.models import ConfidenceHour, LatencyHour, OverrideHour, RolledUpHour
from inspection.models import (
    Batch,
    Detection,
    Facility,
    FacilityMembership,
    Image,
    ReviewDecision,
    ReviewTask,
)
from inspection.services.facilities import create_facility

REVIEWERS = 4
TABLES = (Batch, Image, Detection, ReviewTask, ReviewDecision)
ROLLUPS = (RolledUpHour, ConfidenceHour, LatencyHour, OverrideHour)


class HistoryRefused(Exception):
    """The history cannot be written here; `str()` says why in one line."""


@dataclass(frozen=True)
class HistoryRequest:
    facility: str
    images: int
    days: float
    seed: int = 1
    end: datetime | None = None


@dataclass
class HistoryReport:
    facility: str
    since: datetime
    until: datetime
    seconds: float = 0.0
    sealing_seconds: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)


def fill_history(request: HistoryRequest) -> HistoryReport:
    started = time.monotonic()
    _check(request)
    facility = create_facility(request.facility)
    if Image.objects.filter(facility=facility).exists():
        raise HistoryRefused(
            f"facility '{facility.slug}' already has images: a history goes into a new one"
        )
    end = request.end or timezone.now()
    report = HistoryReport(facility.slug, end - timedelta(days=request.days), end)
    with transaction.atomic():
        # The facility existed through its history (its hours are sealed from then on).
        Facility.objects.filter(pk=facility.pk, created_at__gt=report.since).update(
            created_at=report.since
        )
        context = _context(facility, report.since, end)
        rng = random.Random(request.seed)
        for day in _by_day(plan_batches(rng, report.since, end, request.images)):
            _write_day(rng, context, day, report)
    _vacuum(TABLES)
    report.seconds = round(time.monotonic() - started, 1)
    sealing = time.monotonic()
    report.counts["hours sealed"] = rollups.seal([facility.pk], report.since, end)
    _vacuum(ROLLUPS)
    report.sealing_seconds = round(time.monotonic() - sealing, 1)
    return report


def _vacuum(tables: tuple) -> None:
    # VACUUM cannot run in a transaction: called inside one (a test's), the planner's
    # statistics wait for autovacuum.
    if not connection.in_atomic_block:
        vacuum_analyze(tables)


def _check(request: HistoryRequest) -> None:
    if connection.vendor != "postgresql":
        raise HistoryRefused("fill_history writes with PostgreSQL's COPY: set DATABASE_URL")
    if request.images < 1 or request.days <= 0:
        raise HistoryRefused("--images and --days must be positive")


def _context(facility: Facility, since: datetime, end: datetime) -> r.Context:
    model = facility.active_model
    if model is None:
        raise HistoryRefused(f"facility '{facility.slug}' has no active model")
    periods = policy_versions(facility, model, since, end)
    world = World(list(model.class_names), Incidents.before(end), end)
    return r.Context(facility.pk, model.pk, periods, _reviewers(facility), world)


def _reviewers(facility: Facility) -> list[int]:
    users = []
    for number in range(1, REVIEWERS + 1):
        user, created = get_user_model().objects.get_or_create(
            username=f"{facility.slug}-reviewer-{number}"
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        FacilityMembership.objects.get_or_create(user=user, facility=facility)
        users.append(user.pk)
    return users


def _by_day(batches: list[PlannedBatch]) -> Iterator[list[PlannedBatch]]:
    day: list[PlannedBatch] = []
    for batch in batches:
        if day and batch.created_at.date() != day[0].created_at.date():
            yield day
            day = []
        day.append(batch)
    if day:
        yield day


def _write_day(
    rng: random.Random, context: r.Context, day: list[PlannedBatch], report: HistoryReport
) -> None:
    rows = r.Rows()
    for planned in day:
        r.batch_rows(rng, context, planned, rows)
    tasks, decisions = _review_rows(context, rows)
    for image in rows.images:
        report.statuses[image["status"]] += 1
    report.counts["batches"] += TableCopy(Batch).write(rows.batches)
    report.counts["images"] += TableCopy(Image).write(rows.images)
    report.counts["detections"] += TableCopy(Detection, with_pk=False).write(rows.detections)
    report.counts["review tasks"] += TableCopy(ReviewTask).write(tasks)
    report.counts["review decisions"] += TableCopy(ReviewDecision).write(decisions)


def _review_rows(context: r.Context, rows: r.Rows) -> tuple[list[dict], list[dict]]:
    """Tasks and decisions with ids reserved for them; the reviewers' boxes join the model's."""
    if not rows.tasks:
        return [], []
    task_id = reserve_ids(ReviewTask, len(rows.tasks))
    wanted = sum(len(plan.verdicts) + (len(plan.verdicts) > 1) for plan in rows.tasks)
    decision_id = reserve_ids(ReviewDecision, wanted) if wanted else 0
    tasks: list[dict] = []
    decisions: list[dict] = []
    for offset, plan in enumerate(rows.tasks):
        tasks.append(r.task_row(task_id + offset, context, plan))
        made = r.decision_rows(decision_id + len(decisions), task_id + offset, context, plan)
        decisions.extend(made)
        rows.detections.extend(r.reviewer_boxes(plan))
    return tasks, decisions
