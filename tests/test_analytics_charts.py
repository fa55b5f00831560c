"""What each chart counts, on small hand-made histories: outcomes and failure reasons per bucket,
latency percentiles, the model's confidence per class against the thresholds and the period
they were set on, means per day, the review backlog over time, decisions and override rates
(the review statistics' own numbers), cameras, and other facilities left out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from inspection.analytics import confidence, latency, review, throughput
from inspection.analytics.histogram import HALF_WIDTH
from inspection.analytics.models import CONFIDENCE_BINS
from inspection.analytics.series import TimeSeries
from inspection.analytics.window import Bucket, floor_to
from inspection.models import Facility, ModelVersion, ReviewDecision, ThresholdPolicy
from inspection.review.selectors import (
    QueueFilters,
    decisions_since,
    override_by_class,
    queue_summary,
)
from tests.analytics_support import HOUR, Site, decide, hours_ago, scope_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(facility: Facility) -> Site:
    """dc-north, there for two months (the analytics seal only hours a facility lived through)."""
    Facility.objects.filter(pk=facility.pk).update(created_at=timezone.now() - timedelta(days=60))
    return Site.of(facility)


@pytest.fixture
def other(other_facility: Facility) -> Site:
    Facility.objects.filter(pk=other_facility.pk).update(
        created_at=timezone.now() - timedelta(days=60)
    )
    return Site.of(other_facility)


def values(result: Any, key: str) -> list[Any]:
    return next(series.values for series in result.series if series.key == key)


def at_bucket(result: Any, moment: datetime, key: str) -> Any:
    start = floor_to(moment, result.scope.window.bucket)
    return values(result, key)[result.buckets.index(start)]


def counted(result: TimeSeries) -> float:
    """All that a chart of counts counts (its series have no gaps)."""
    counts = [value for series in result.series for value in series.values]
    assert None not in counts
    return sum(value for value in counts if value is not None)


# --- throughput and failures --------------------------------------------------------------


def test_images_per_hour_by_outcome_of_the_chosen_facility_and_camera(
    site: Site, other: Site
) -> None:
    two, five = hours_ago(2), hours_ago(5)
    for status in ("accepted", "accepted", "needs_review", "failed", "rejected", "inferring"):
        site.image(two, status=status)
    site.image(five, status="accepted", camera="dock-2")
    site.image(hours_ago(30), status="accepted")  # before the window
    other.image(two, status="accepted")  # another facility

    result = throughput.images_by_outcome(scope_of(site.facility))
    assert [at_bucket(result, two, key) for key in ("accepted", "needs_review", "failed")] == [
        2, 1, 1,
    ]  # fmt: skip
    assert (at_bucket(result, two, "rejected"), at_bucket(result, two, "in_progress")) == (1, 1)
    assert at_bucket(result, five, "accepted") == 1
    assert counted(result) == 7
    assert result.empty is None and len(result.buckets) == 25

    dock_2 = throughput.images_by_outcome(scope_of(site.facility, camera="dock-2"))
    assert counted(dock_2) == 1


def test_no_images_says_so_for_the_scope(site: Site) -> None:
    result = throughput.images_by_outcome(scope_of(site.facility, camera="dock-9"))
    assert result.empty == (
        "No images were submitted for dc-north, camera dock-9, in the last 24 hours."
    )
    assert all(value == 0 for series in result.series for value in series.values)


def test_failure_reasons_per_bucket_most_frequent_first(site: Site) -> None:
    one, three = hours_ago(1), hours_ago(3)
    for at, reason in ((one, "too_dark"), (one, "too_dark"), (three, "too_dark"), (one, "corrupt")):
        site.image(at, status="failed", reason=reason, total_ms=None)
    site.image(one, status="accepted")

    result = throughput.failure_reasons(scope_of(site.facility))
    assert [series.key for series in result.series] == ["too_dark", "corrupt"]
    assert (at_bucket(result, one, "too_dark"), at_bucket(result, three, "too_dark")) == (2, 1)
    assert at_bucket(result, one, "corrupt") == 1


# --- latency --------------------------------------------------------------------------------


def test_latency_percentiles_per_bucket_from_sealed_and_open_hours(site: Site) -> None:
    sealed_hour = floor_to(hours_ago(3), Bucket.HOUR)
    totals = [100.0 * (i + 1) for i in range(20)]  # 100 ... 2000 ms
    for i, total in enumerate(totals):
        site.image(sealed_hour + timedelta(minutes=i), total_ms=total, queue_wait_ms=total / 4)
    recent = timezone.now() - timedelta(minutes=1)  # not sealed yet: read from the images
    site.image(recent - timedelta(seconds=5), total_ms=5000.0, finished=recent)

    result = latency.latency(scope_of(site.facility))
    p50, p95 = (
        at_bucket(result, sealed_hour, "total_p50"),
        at_bucket(result, sealed_hour, "total_p95"),
    )
    assert abs(p50 - 1000.0) / 1000.0 <= HALF_WIDTH  # nearest rank: the 10th of 20
    assert abs(p95 - 1900.0) / 1900.0 <= HALF_WIDTH
    assert abs(at_bucket(result, sealed_hour, "queue_wait_p50") - 250.0) / 250.0 <= HALF_WIDTH
    assert abs(at_bucket(result, recent, "total_p50") - 5000.0) / 5000.0 <= HALF_WIDTH
    assert at_bucket(result, hours_ago(10), "total_p50") is None
    # Asked again (the hour now sealed), the same numbers.
    assert latency.latency(scope_of(site.facility)).series == result.series


# --- confidence -----------------------------------------------------------------------------


def bins_of(result: Any, name: str, which: str = "current") -> list[int]:
    item = next(c for c in result.classes if c.class_name == name)
    return list(getattr(item, which))


def test_confidence_per_class_counts_only_the_active_model_s_boxes(site: Site) -> None:
    at = hours_ago(4)
    site.image(at, boxes=(("parcel", 0.93), ("parcel", 0.97), ("label", 0.31)))
    site.image(at, status="needs_review", boxes=(("label", 0.12),))
    site.image(at, status="failed", boxes=(("label", 0.5),))  # failed: not routed, not counted
    old = ModelVersion.objects.create(
        name="old", version="1", file_path="x.pt", class_names=["parcel", "label"]
    )
    site.image(at, boxes=(("parcel", 0.2),), model=old)  # another model's boxes

    result = confidence.distribution(scope_of(site.facility))
    parcel, label = bins_of(result, "parcel"), bins_of(result, "label")
    assert len(parcel) == CONFIDENCE_BINS and sum(parcel) == 2 and parcel[18] == 1
    assert parcel[19] == 1
    assert (sum(label), label[6], label[2]) == (2, 1, 1)
    assert result.empty is None and result.edges[:3] == [0.0, 0.05, 0.1]


def test_thresholds_and_the_period_they_were_set_on(site: Site) -> None:
    set_at = timezone.now() - timedelta(days=2)
    ThresholdPolicy.objects.create(
        facility=site.facility, model_version=site.model, version=1, is_active=True,
        class_thresholds={"parcel": 0.6, "label": 0.35, "damage": 0.5}, source="manual",
        created_at=set_at,
    )  # fmt: skip
    site.image(set_at - timedelta(days=3), boxes=(("label", 0.72),))  # the week before: reference
    site.image(set_at - timedelta(days=8), boxes=(("label", 0.12),))  # earlier: neither
    site.image(hours_ago(1), boxes=(("label", 0.41),))  # this window

    result = confidence.distribution(scope_of(site.facility))
    assert bins_of(result, "label", "reference")[14] == 1
    assert sum(bins_of(result, "label", "reference")) == 1
    assert bins_of(result, "label")[8] == 1 and sum(bins_of(result, "label")) == 1
    label = next(c for c in result.classes if c.class_name == "label")
    assert [(t.facility, t.value, t.source) for t in label.thresholds] == [
        ("dc-north", 0.35, "manual")
    ]
    [window] = result.references
    assert window.rule == "the 7 days before threshold version 1 was set"
    assert window.until == floor_to(set_at, Bucket.HOUR)
    assert window.since == window.until - timedelta(days=7)


def test_without_images_before_a_version_the_reference_is_its_first_week(site: Site) -> None:
    set_at = timezone.now() - timedelta(days=3)
    ThresholdPolicy.objects.create(
        facility=site.facility, model_version=site.model, version=4, is_active=True,
        default_threshold=0.5, source="manual", created_at=set_at,
    )  # fmt: skip
    site.image(set_at + timedelta(hours=5), boxes=(("damage", 0.33),))
    [window] = confidence.distribution(scope_of(site.facility)).references
    assert window.rule == "the first 7 days under threshold version 4 (no images before it)"
    assert window.since == floor_to(set_at, Bucket.HOUR)


def test_registration_thresholds_compare_with_the_model_s_first_week(site: Site) -> None:
    first = timezone.now() - timedelta(days=20)
    site.image(first, boxes=(("damage", 0.52),))
    site.image(first + timedelta(days=8), boxes=(("damage", 0.9),))  # after the first week
    result = confidence.distribution(scope_of(site.facility, period="30d"))
    [window] = result.references
    assert (
        window.rule == "the first 7 days of the model's images here (its registration thresholds)"
    )
    assert bins_of(result, "damage", "reference")[10] == 1
    assert sum(bins_of(result, "damage", "reference")) == 1
    damage = next(c for c in result.classes if c.class_name == "damage")
    registered = float(site.model.class_thresholds["damage"])
    assert [(t.value, t.source) for t in damage.thresholds] == [(registered, "calibrated")]


def test_no_boxes_says_so(site: Site) -> None:
    result = confidence.distribution(scope_of(site.facility))
    assert result.empty == (
        "The active model found no boxes on images decided for dc-north, in the last 24 hours."
    )


def test_mean_confidence_per_class_per_day(site: Site) -> None:
    today = floor_to(timezone.now(), Bucket.DAY)
    yesterday = today - timedelta(days=1) + timedelta(hours=12)
    site.image(yesterday, boxes=(("damage", 0.4), ("damage", 0.6), ("parcel", 0.9)))
    site.image(today - timedelta(days=4), boxes=(("damage", 0.8),))
    result = confidence.daily_means(scope_of(site.facility, period="7d"))
    assert result.scope.window.bucket == "day"
    assert at_bucket(result, yesterday, "damage") == pytest.approx(0.5)
    assert at_bucket(result, today - timedelta(days=4), "damage") == pytest.approx(0.8)
    assert at_bucket(result, today - timedelta(days=2), "damage") is None
    assert [series.key for series in result.series] == ["parcel", "damage"]


# --- review ---------------------------------------------------------------------------------


def backlog_at(site: Site, moment: datetime) -> tuple[int, float | None]:
    """Brute force: tasks created by `moment` and not completed by then, oldest age (h)."""
    tasks = site.facility.review_tasks.all()
    waiting = [
        t
        for t in tasks
        if t.created_at <= moment and (t.completed_at is None or t.completed_at > moment)
    ]
    oldest = min((t.created_at for t in waiting), default=None)
    return len(waiting), (moment - oldest).total_seconds() / 3600 if oldest else None


def test_backlog_over_time_matches_the_tasks_and_ends_at_the_queue_now(site: Site) -> None:
    spans = [(20, 18), (19, None), (12, 2), (6, None), (5.5, 5), (1, None), (30, 3)]
    for created, completed in spans:
        image = site.image(hours_ago(created), status="needs_review")
        site.task(image, hours_ago(created), hours_ago(completed) if completed else None)

    result = review.backlog(scope_of(site.facility))
    now = timezone.now()
    for index, start in enumerate(result.buckets):
        point = min(start + HOUR, now)
        waiting, oldest = backlog_at(site, point)
        assert result.series[0].values[index] == waiting, start
        expected_age = None if oldest is None else pytest.approx(oldest, abs=0.02)
        assert result.series[1].values[index] == expected_age, start
    month = review.backlog(scope_of(site.facility, period="30d"))
    assert month.scope.window.bucket == "hour" and month.series[0].values[-1] == 3
    [current] = queue_summary(Facility.objects.filter(pk=site.facility.pk), QueueFilters())
    assert result.series[0].values[-1] == current.waiting == 3
    assert current.oldest_age is not None
    assert result.series[1].values[-1] == pytest.approx(
        current.oldest_age.total_seconds() / 3600, abs=0.02
    )


def test_decisions_per_bucket_leave_out_undone_ones(site: Site) -> None:
    # Ten minutes into an hour, so the redo a minute later lands in the same hourly bucket
    # whatever the clock says (one CI run crossed the hour between the two).
    at = floor_to(hours_ago(2), Bucket.HOUR) + timedelta(minutes=10)
    tasks = [site.task(site.image(at, status="accepted"), at, at) for _ in range(4)]
    decide(tasks[0], at, ReviewDecision.Action.ACCEPT)
    decide(tasks[1], at, ReviewDecision.Action.CORRECT, ("parcel",), ("label",))
    undone = decide(tasks[2], at, ReviewDecision.Action.REJECT)
    decide(tasks[2], at + timedelta(seconds=30), ReviewDecision.Action.UNDO, undoes=undone)
    decide(tasks[2], at + timedelta(seconds=60), ReviewDecision.Action.ACCEPT)
    decide(tasks[3], hours_ago(30), ReviewDecision.Action.ACCEPT)  # before the window

    result = review.decisions(scope_of(site.facility))
    assert [at_bucket(result, at, key) for key in ("accept", "correct", "reject")] == [2, 1, 0]
    assert counted(result) == 3


def test_override_rates_are_the_review_statistics_own(site: Site) -> None:
    day = floor_to(timezone.now(), Bucket.DAY) - timedelta(days=1)
    cases = [
        (("parcel", "label"), ("parcel",)),  # label deleted: label overridden
        (("parcel", "label"), ("parcel", "label")),
        (("parcel",), ("parcel", "damage")),  # damage added
        (("label",), ("label",)),
    ]
    for i, (before, after) in enumerate(cases):
        at = day + timedelta(hours=9, minutes=i)
        task = site.task(site.image(at, status="accepted"), at, at)
        action = ReviewDecision.Action.CORRECT if before != after else ReviewDecision.Action.ACCEPT
        decide(task, at, action, before, after)
    rejected = site.task(site.image(day, status="rejected"), day, day)
    decide(rejected, day + timedelta(hours=10), ReviewDecision.Action.REJECT, ("label",))

    result = review.overrides(scope_of(site.facility, period="7d"))
    facilities = Facility.objects.filter(pk=site.facility.pk)
    expected = override_by_class(decisions_since(facilities, result.scope.window.since))
    for row in expected:
        assert at_bucket(result, day, f"{row.class_name}.decisions") == row.decisions
        assert at_bucket(result, day, row.class_name) == pytest.approx(row.rate, abs=1e-4)
    assert {row.class_name: (row.decisions, row.overridden) for row in expected} == {
        "damage": (1, 1), "label": (3, 1), "parcel": (3, 0),
    }  # fmt: skip


def test_a_key_of_another_facility_s_data_never_counts(site: Site, other: Site) -> None:
    at = hours_ago(3)
    image = other.image(at, status="needs_review", boxes=(("label", 0.2),))
    decide(other.task(image, at, at), at)
    scope = scope_of(site.facility)
    for chart in (throughput.images_by_outcome, latency.latency, review.backlog, review.decisions):
        assert chart(scope).empty is not None, chart.__name__
    assert confidence.distribution(scope).empty is not None
