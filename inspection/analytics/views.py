"""The analytics page: session login, scoped to the user's facilities."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from inspection.analytics import charts, selectors
from inspection.review.access import facilities_of

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DEFAULT_PERIOD = "7d"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    period = request.GET.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    facilities, chosen = selectors.scope(request.user, request.GET.get("facility"))
    context = {
        "facilities": list(facilities_of(request.user)),
        "chosen": chosen,
        "period": period,
        "periods": list(PERIODS),
        **page_data([f.pk for f in facilities], timezone.now() - PERIODS[period]),
    }
    return render(request, "analytics/dashboard.html", context)


def page_data(facility_ids: list[int], since: Any) -> dict[str, Any]:
    hourly = selectors.images_per_hour(facility_ids, since)
    outcomes = selectors.outcomes(facility_ids, since)
    return {
        "hourly": charts.bar_chart([(f"{hour:%Y-%m-%d %H:00}", n) for hour, n in hourly]),
        "hourly_total": sum(n for _, n in hourly),
        "outcomes": [(row, outcome_segments(row)) for row in outcomes],
        "reasons": charts.bar_chart(selectors.failure_reasons(facility_ids, since), height=80),
        "confidence": confidence_charts(selectors.confidence_histograms(facility_ids, since)),
        "drift": drift_lines(selectors.daily_mean_confidence(facility_ids, since)),
        "backlog": selectors.review_backlog(facility_ids),
        "overrides": selectors.override_rates(facility_ids, since),
    }


def outcome_segments(row: selectors.OutcomeRow) -> list[charts.Segment]:
    return charts.share_bar([(status, row.share(status)) for status in selectors.OUTCOMES])


def confidence_charts(histograms: dict[str, list[int]]) -> list[tuple[str, charts.BarChart]]:
    width = selectors.CONFIDENCE_BINS
    return [
        (
            name,
            charts.bar_chart(
                [(f"{i / width:.1f}-{(i + 1) / width:.1f}", n) for i, n in enumerate(counts)],
                width=200,
                height=60,
            ),
        )
        for name, counts in histograms.items()
    ]


def drift_lines(series: dict[str, list[tuple[Any, float]]]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "points": charts.polyline([mean for _, mean in days]),
            "first": days[0],
            "last": days[-1],
        }
        for name, days in series.items()
    ]
