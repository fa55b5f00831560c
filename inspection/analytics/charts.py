"""Every chart of the analytics page by name: what computes it and what it shows. The API's
endpoints, the page's chart cards and the benchmark are all made from this list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspection.analytics import confidence, latency, review, throughput
from inspection.analytics.scope import Scope
from inspection.analytics.series import Distributions, TimeSeries

Result = TimeSeries | Distributions


@dataclass(frozen=True)
class Chart:
    name: str
    path: str  # under /api/v1/analytics/
    heading: str
    compute: Callable[[Scope], Result]
    summary: str
    # More for the API's documentation, where the summary is not enough.
    details: str = ""


CHARTS = (
    Chart(
        "throughput",
        "throughput",
        "Images by outcome",
        throughput.images_by_outcome,
        "Images per hour or day by outcome (accepted, needs review, failed, rejected, in "
        "progress), by the time they were submitted.",
    ),
    Chart(
        "latency",
        "latency",
        "Latency",
        latency.latency,
        "End-to-end latency (upload to routing decision) and queue wait before inference, p50 "
        "and p95, by the time images were decided.",
    ),
    Chart(
        "confidence",
        "confidence",
        "Confidence per class",
        confidence.distribution,
        "The active model's confidence per class in 20 bins, beside the same for the period its "
        "thresholds were set on, with each facility's threshold.",
        "Only boxes of each facility's active model count, on images decided in the window. "
        "The reference period, per facility (`references[].rule` says which applied): the 7 "
        "days before the active threshold version was created, when the model decided images "
        "then; otherwise the first 7 days after it; for the model's registration thresholds (no "
        "version), the first 7 days of the model's images at the facility.",
    ),
    Chart(
        "confidence_trend",
        "confidence-trend",
        "Mean confidence per class",
        confidence.daily_means,
        "The active model's mean confidence per class per day (per hour for windows up to 48 "
        "hours).",
    ),
    Chart(
        "review_backlog",
        "review-backlog",
        "Review backlog",
        review.backlog,
        "Review tasks waiting, and the age of the oldest one, at the end of each hour (each day "
        "for windows over 31 days).",
    ),
    Chart(
        "review_decisions",
        "review-decisions",
        "Reviewer decisions",
        review.decisions,
        "Reviewer decisions per bucket: accepted as is, corrected, rejected (undone decisions "
        "left out).",
    ),
    Chart(
        "overrides",
        "overrides",
        "Override rate per class",
        review.overrides,
        "Per class: the share of accepted review decisions that changed the model's boxes, and "
        "how many decisions that share is of.",
    ),
    Chart(
        "failures",
        "failures",
        "Failure reasons",
        throughput.failure_reasons,
        "Failed images per bucket by reason, by the time they were submitted.",
    ),
)
BY_NAME = {chart.name: chart for chart in CHARTS}
