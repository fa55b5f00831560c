"""The measurements of `python -m bench analytics` (after Django is set up): the history filled
or reused, every chart timed per period (computed, and through its endpoint), and the plans of
the 30-day charts' queries."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from bench.stats import median
from inspection.analytics.charts import CHARTS, Chart
from inspection.analytics.history.fill import HistoryRequest, fill_history
from inspection.analytics.scope import Scope
from inspection.analytics.window import Window
from inspection.models import ApiKey, Facility, Image


def fill(slug: str, images: int, days: float) -> dict[str, Any]:
    """The history in the bench database: filled now, or found from an earlier run."""
    call_command("migrate", verbosity=0, interactive=False)
    existing = Image.objects.filter(facility__slug=slug).count()
    if existing:
        return {"images": existing, "days": days, "reused": True}
    done = fill_history(HistoryRequest(slug, images, days))
    return {
        "images": images,
        "days": days,
        "reused": False,
        "fill_seconds": done.seconds,
        "sealing_seconds": done.sealing_seconds,
        "rows": dict(done.counts),
        "statuses": dict(done.statuses),
    }


def _scope(slug: str, period: str) -> Scope:
    """`30d@dock-2`: thirty days of camera dock-2 only."""
    facilities = Facility.objects.filter(slug=slug).select_related("active_model")
    period, _, camera = period.partition("@")
    return Scope(list(facilities), Window.of(period, timezone.now()), camera or None)


def _client(slug: str) -> APIClient:
    key, raw = ApiKey.generate("bench analytics")
    key.save()
    key.facilities.set(Facility.objects.filter(slug=slug))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def time_charts(slug: str, periods: tuple[str, ...], runs: int) -> dict[str, Any]:
    client = _client(slug)
    out: dict[str, Any] = {}
    for chart in CHARTS:
        out[chart.name] = {}
        for period in periods:
            chart.compute(_scope(slug, period))  # warm-up (seals anything new)
            computed = [
                _ms(lambda c=chart, p=period: c.compute(_scope(slug, p))) for _ in range(runs)
            ]
            url = f"/api/v1/analytics/{chart.path}/?{_query(slug, period)}"
            served = [_ms(lambda u=url: _ok(client.get(u))) for _ in range(runs)]
            timing = summary(computed)
            timing["api_median_ms"] = summary(served)["median_ms"]
            out[chart.name][period] = timing
    return out


def _query(slug: str, period: str) -> str:
    period, _, camera = period.partition("@")
    return urlencode({"facility": slug, "period": period, **({"camera": camera} if camera else {})})


def summary(samples: list[float]) -> dict[str, Any]:
    return {"median_ms": median(samples), "max_ms": round(max(samples), 1)}


def _ok(response: Any) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.content[:200]!r}")


def _ms(call: Any) -> float:
    started = time.perf_counter()
    call()
    return round((time.perf_counter() - started) * 1000, 1)


def explain_charts(slug: str, period: str) -> dict[str, list[dict[str, Any]]]:
    return {chart.name: _plans(chart, slug, period) for chart in CHARTS}


def _plans(chart: Chart, slug: str, period: str) -> list[dict[str, Any]]:
    with CaptureQueriesContext(connection) as captured:
        chart.compute(_scope(slug, period))
    selects = [
        q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")
    ]
    return [_explain(sql) for sql in selects]


def _explain(sql: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        (raw,) = cursor.fetchone()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    nodes = list(_walk(plan["Plan"]))
    return {
        "sql": sql[:300],
        "execution_ms": round(plan["Execution Time"], 2),
        "indexes": sorted({n["Index Name"] for n in nodes if "Index Name" in n}),
        "seq_scans": sorted({n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"}),
    }


def _walk(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)
