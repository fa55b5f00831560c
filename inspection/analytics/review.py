"""Review over time: the backlog (tasks waiting, and how long the oldest has waited) at the end
of each hour (each day for windows over 31 days), reviewer decisions per bucket, and the
override rate per class per day.

The backlog is computed at request time from the tasks' `created_at` and `completed_at` (a task
waits from its creation until it is decided; an undone decision puts it back, and it then counts
as waiting since its creation). Decisions are those that stand (`decisions_since`, as on the
review statistics page); the override rate is `override_by_class`'s, kept per hour in the
rollups."""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from inspection.analytics import facts as f
from inspection.analytics.buckets import Epoch, in_window, trunc
from inspection.analytics.models import OverrideHour
from inspection.analytics.rollups import Split, class_sums
from inspection.analytics.scope import Scope
from inspection.analytics.series import Number, Series, TimeSeries, aligned
from inspection.analytics.window import Bucket, Window, step, trend_window
from inspection.models import Facility, ReviewDecision, ReviewTask
from inspection.review.selectors import decisions_since

BACKLOG_HOURLY_UP_TO = timedelta(days=31)
ACTIONS = {
    ReviewDecision.Action.ACCEPT: "Accepted as is",
    ReviewDecision.Action.CORRECT: "Corrected",
    ReviewDecision.Action.REJECT: "Rejected",
}


def backlog_window(window: Window) -> Window:
    """Hourly up to BACKLOG_HOURLY_UP_TO: a day's end hides the day (the night's tasks wait
    at midnight, the shift has cleared them by noon)."""
    if window.span() <= BACKLOG_HOURLY_UP_TO:
        return window.rebucket(Bucket.HOUR)
    return window


def _sample_points(window: Window) -> list[datetime]:
    """Each bucket's end, or now for the bucket now runs in."""
    now = timezone.now()
    return [min(start + step(window.bucket), window.until, now) for start in window.starts()]


def backlog(scope: Scope) -> TimeSeries:
    window = backlog_window(scope.window)
    tasks = ReviewTask.objects.filter(
        Q(completed_at__isnull=True) | Q(completed_at__gt=window.since),
        facility_id__in=scope.facility_ids,
        created_at__lt=window.until,
    )
    if scope.camera is not None:
        tasks = tasks.filter(image__batch__camera=scope.camera)
    spans = sorted(
        tasks.annotate(start=Epoch("created_at"), done=Epoch("completed_at")).values_list(
            "start", "done"
        )
    )
    points = [point.timestamp() for point in _sample_points(window)]
    waiting, oldest = _sweep(spans, points)
    buckets = window.starts()
    series = [
        Series("waiting", "Tasks waiting", "tasks", waiting),
        Series("oldest_age", "Oldest task waiting", "hours", oldest),
    ]
    empty = None if spans else f"No review task was waiting for {scope.describe()}."
    title = "Review backlog: tasks waiting and the oldest one's age"
    scoped = replace(scope, window=window)
    return TimeSeries("review_backlog", title, scoped, buckets, series, empty)


def _sweep(
    spans: Sequence[tuple[float, float | None]], points: list[float]
) -> tuple[list[Number], list[Number]]:
    """At each point (ascending, Unix seconds): tasks created at or before it and not
    completed by then, and the age in hours of the oldest of them. `spans` are (created,
    completed or None) in Unix seconds, sorted by creation."""
    completions = sorted(done for _, done in spans if done is not None)
    created = [start for start, _ in spans]
    open_heap: list[tuple[float, int, float | None]] = []  # oldest first
    counts: list[Number] = []
    ages: list[Number] = []
    taken = 0
    for point in points:
        while taken < len(spans) and spans[taken][0] <= point:
            heapq.heappush(open_heap, (spans[taken][0], taken, spans[taken][1]))
            taken += 1
        while open_heap and open_heap[0][2] is not None and open_heap[0][2] <= point:
            heapq.heappop(open_heap)  # done by now; never waits again at a later point
        counts.append(bisect_right(created, point) - bisect_right(completions, point))
        ages.append(round((point - open_heap[0][0]) / 3600, 2) if open_heap else None)
    return counts, ages


def decisions(scope: Scope) -> TimeSeries:
    window = scope.window
    facilities = Facility.objects.filter(pk__in=scope.facility_ids)
    standing = in_window(
        decisions_since(facilities, window.since), "decided_at", scope, "image__batch__camera"
    )
    rows = (
        standing.annotate(bucket=trunc("decided_at", window.bucket))
        .values_list("bucket", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, dict] = defaultdict(dict)
    for bucket, action, n in rows:
        counts[action][bucket] = n
    empty = None if counts else f"No reviewer decided a task for {scope.describe()}."
    buckets = window.starts()
    series = [
        Series(action, label, "decisions", aligned(buckets, counts[action], 0))
        for action, label in ACTIONS.items()
    ]
    per = "hour" if window.bucket == "hour" else "day"
    return TimeSeries(
        "review_decisions", f"Reviewer decisions per {per}", scope, buckets, series, empty
    )


def overrides(scope: Scope) -> TimeSeries:
    """Per class and day (hour, for windows up to 48 hours): the share of accepted decisions
    showing the class that changed its boxes; with each class's decision count (to read the
    rate by: an hour's few decisions make a noisy rate)."""
    window = trend_window(scope.window)
    split = Split.of(scope.facility_ids, window.since, window.until, scope.camera)
    live = [
        (fact.hour, fact.class_name, fact.decisions, fact.overridden)
        for _, fact in split.open_facts(f.override_facts)
    ]
    totals = class_sums(
        split.sealed(OverrideHour), window.bucket, ("decisions", "overridden"), live
    )
    buckets = window.starts()
    series = []
    for name in sorted(totals):
        rates = {b: round(changed / n, 4) for b, (n, changed) in totals[name].items() if n}
        counts = {b: n for b, (n, _) in totals[name].items()}
        series.append(Series(name, name, "ratio", aligned(buckets, rates, None)))
        series.append(
            Series(
                f"{name}.decisions", f"{name}: decisions", "decisions", aligned(buckets, counts, 0)
            )
        )
    empty = (
        None
        if totals
        else f"No review accepted an image for {scope.describe()}, so nothing could be overridden."
    )
    note = "Accepted decisions whose boxes of the class the reviewer changed, as on /review/stats/."
    title = f"Override rate per class per {window.bucket}"
    scoped = replace(scope, window=window)
    return TimeSeries("overrides", title, scoped, buckets, series, empty, note)
