"""`python -m bench analytics` on a small history in the test database: every chart is timed for
every period (computed and through its endpoint), every query of the 30-day charts is explained
with the indexes its plan uses, and the table shows one row per chart. The 200,000-image run and
its numbers are in bench/README.md; nothing here judges this machine's speed."""

from __future__ import annotations

import pytest

from bench.analytics import PERIODS, table
from bench.analytics_timing import explain_charts, fill, time_charts
from inspection.analytics.charts import CHARTS

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_every_chart_is_timed_and_explained_on_a_history() -> None:
    history = fill("dc-bench", images=1500, days=3)
    assert (history["reused"], history["images"]) == (False, 1500)
    assert fill("dc-bench", images=1500, days=3)["reused"] is True

    timings = time_charts("dc-bench", PERIODS, runs=2)
    assert list(timings) == [chart.name for chart in CHARTS]
    for name, periods in timings.items():
        assert list(periods) == list(PERIODS), name
        for timing in periods.values():
            assert 0 < timing["median_ms"] <= timing["max_ms"] and timing["api_median_ms"] > 0

    plans = explain_charts("dc-bench", "30d")
    assert set(plans) == {chart.name for chart in CHARTS}
    throughput = [p for p in plans["throughput"] if "inspection_image" in p["sql"]]
    assert throughput and all(p["execution_ms"] >= 0 for p in throughput)
    assert any(p["indexes"] for p in plans["confidence"])

    document = {"history": history, "charts": timings}
    lines = table(document).splitlines()
    assert lines[0].startswith("history: 1500 images over 3 days (filled in ")
    assert len([line for line in lines if line.startswith("| ") and "---" not in line]) == 9
