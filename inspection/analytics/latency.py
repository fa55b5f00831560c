"""End-to-end latency (upload to routing decision, `timings.total_ms`) and queue wait before
inference (`timings.queue_wait_ms`) per bucket, p50 and p95, by the hour images were decided
in. From the hourly latency rollups (log-scale histograms: each percentile within 2.2%)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from inspection.analytics import facts as f
from inspection.analytics import histogram
from inspection.analytics.models import LatencyHour
from inspection.analytics.rollups import Split
from inspection.analytics.scope import Scope
from inspection.analytics.series import Series, TimeSeries

LINES = (
    ("total_ms", 0.5, "total_p50", "End to end, p50"),
    ("total_ms", 0.95, "total_p95", "End to end, p95"),
    ("queue_wait_ms", 0.5, "queue_wait_p50", "Queue wait, p50"),
    ("queue_wait_ms", 0.95, "queue_wait_p95", "Queue wait, p95"),
)
NOTE = (
    "Percentiles of the images decided in each bucket, read from log-scale histograms "
    f"(within {histogram.HALF_WIDTH:.1%} of the exact value)."
)


def latency(scope: Scope) -> TimeSeries:
    window = scope.window
    split = Split.of(scope.facility_ids, window.since, window.until, scope.camera)
    merged: dict[str, dict[datetime, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    rows = split.sealed(LatencyHour).values_list("hour", "total_ms", "queue_wait_ms")
    live = [
        (fact.hour, fact.total_ms, fact.queue_wait_ms)
        for _, fact in split.open_facts(f.latency_facts)
    ]
    for hour, total, wait in [*rows, *live]:
        bucket = window.bucket_of(hour)
        histogram.add(merged["total_ms"][bucket], total)
        histogram.add(merged["queue_wait_ms"][bucket], wait)
    empty = None if merged else f"No image was decided for {scope.describe()}."
    buckets = window.starts()
    series = [
        Series(key, label, "ms", [histogram.percentile(merged[metric][b], q) for b in buckets])
        for metric, q, key, label in LINES
    ]
    title = "Latency: end to end and queue wait"
    return TimeSeries("latency", title, scope, buckets, series, empty, NOTE)
