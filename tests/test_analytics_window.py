"""The analytics window and the latency histograms: pure arithmetic, no database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from inspection.analytics import histogram
from inspection.analytics.window import Window, period_span, trend_window

NOW = datetime(2026, 3, 4, 14, 23, 45, tzinfo=UTC)


def test_up_to_seven_days_is_hourly_and_starts_on_the_hour() -> None:
    day = Window.of("24h", NOW)
    assert (day.bucket, day.since) == ("hour", datetime(2026, 3, 3, 14, tzinfo=UTC))
    starts = day.starts()
    assert len(starts) == 25 and starts[-1] == datetime(2026, 3, 4, 14, tzinfo=UTC)
    assert Window.of("7d", NOW).bucket == "hour"
    assert len(Window.of("7d", NOW).starts()) == 7 * 24 + 1


def test_longer_windows_are_daily_and_start_at_midnight() -> None:
    month = Window.of("30d", NOW)
    assert (month.bucket, month.since) == ("day", datetime(2026, 2, 2, tzinfo=UTC))
    assert len(month.starts()) == 31
    assert Window.of("169h", NOW).bucket == "day"


def test_a_custom_period_is_any_count_of_hours_or_days_up_to_999() -> None:
    assert period_span("36h") == timedelta(hours=36)
    assert period_span("999d") == timedelta(days=999)
    for bad in ("0d", "1000d", "7w", "d", "7 d", "-1d", "1.5d", ""):
        with pytest.raises(ValueError):
            period_span(bad)


def test_windows_at_the_ends_of_time_do_not_overflow() -> None:
    early = Window.of("999d", datetime(1, 1, 2, 12, tzinfo=UTC))
    assert early.since == datetime(1, 1, 1, tzinfo=UTC) and len(early.starts()) == 2
    late = Window.of("999d", datetime(9999, 12, 31, 23, tzinfo=UTC))
    assert len(late.starts()) == 1000


def test_trends_are_daily_beyond_48_hours() -> None:
    assert trend_window(Window.of("24h", NOW)).bucket == "hour"
    week = trend_window(Window.of("7d", NOW))
    assert (week.bucket, week.since) == ("day", datetime(2026, 2, 25, tzinfo=UTC))


def exact_percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(-(-fraction * len(ordered) // 1)), 1) - 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_from_histograms_are_within_the_bucket_half_width(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(6, 1.2) for _ in range(2000)]
    counts: histogram.Counter[int] = histogram.Counter()
    # Split over "hours" and added up, as a day's buckets are.
    for part in range(0, 2000, 250):
        histogram.add(counts, histogram.histogram(values[part : part + 250]))
    for fraction in (0.5, 0.95):
        exact = exact_percentile(values, fraction)
        approximate = histogram.percentile(counts, fraction)
        assert approximate is not None
        assert abs(approximate - exact) / exact <= histogram.HALF_WIDTH + 0.001


def test_an_empty_histogram_has_no_percentile() -> None:
    assert histogram.percentile(histogram.Counter(), 0.5) is None
