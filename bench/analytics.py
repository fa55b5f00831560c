"""`python -m bench analytics`: how long every chart of the analytics page takes on a realistic
history (default 200,000 images over 30 days, `manage.py fill_history`), on PostgreSQL.

The history goes into a database of its own (`insp_bench_analytics` on DATABASE_URL's server),
filled once and reused by later runs (`--refill` starts over). Per chart and period (24h, 7d,
30d): the chart computed once to warm up, then `--runs` times (median and slowest), and the same
through its API endpoint with an API key (JSON rendering included); and the 30 days of one
camera. Each SQL query of the 30-day
charts is run again under EXPLAIN ANALYZE, and the indexes its plan uses are recorded. Target:
every chart under 300 ms."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import report
from bench.context import ROOT, with_database
from bench.environment import cpu_load

DB_NAME = "insp_bench_analytics"
FACILITY = "dc-history"
# The last: thirty days of one camera (a join to the batches).
PERIODS = ("24h", "7d", "30d", "30d@dock-2")
LIMIT_MS = 300.0
RESULTS = Path(__file__).resolve().parent / "results"


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("analytics", help="time the analytics charts on a large history")
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per chart and period")
    parser.add_argument("--db-name", default=DB_NAME)
    parser.add_argument("--refill", action="store_true", help="drop the database, fill again")
    parser.add_argument("--out", type=Path, help="JSON path (default: bench/results/<time>.json)")


def run(args: argparse.Namespace) -> int:
    _use_database(args.db_name, args.refill)
    import django

    django.setup()
    from bench.analytics_timing import explain_charts, fill, time_charts

    history = fill(FACILITY, args.images, args.days)
    load_before = cpu_load()
    timings = time_charts(FACILITY, PERIODS, args.runs)
    plans = explain_charts(FACILITY, "30d")
    document = {
        "benchmark": "analytics",
        "database": args.db_name,
        "history": history,
        "runs": args.runs,
        "limit_ms": LIMIT_MS,
        "charts": timings,
        "plans_30d": plans,
        "cpu_load_before": load_before,
        "cpu_load_after": cpu_load(),
        "cpu_count": os.cpu_count(),
    }
    out = args.out or RESULTS / f"{time.strftime('%Y-%m-%dT%H%M')}-analytics.json"
    report.write(document, out)
    print(table(document))
    print(f"\nwrote {out}")
    return 0


def _use_database(name: str, refill: bool) -> None:
    """Point Django at the bench's own database on DATABASE_URL's server (created if missing,
    dropped first with --refill)."""
    import psycopg
    from psycopg import sql

    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        raise SystemExit("bench analytics needs PostgreSQL: set DATABASE_URL (postgres://...)")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as connection:
        if refill:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = with_database(url, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.chdir(ROOT)


def table(document: dict[str, Any]) -> str:
    history = document["history"]
    how = "reused"
    if not history["reused"]:
        how = f"filled in {history['fill_seconds']} s, sealed in {history['sealing_seconds']} s"
    lines = [
        f"history: {history['images']} images over {history['days']} days ({how})",
        "",
        "| chart | " + " | ".join(f"{p} median / max ms (API)" for p in PERIODS) + " |",
        "|---|" + "---|" * len(PERIODS),
    ]
    for name, periods in document["charts"].items():
        cells = [_cell(periods[period]) for period in PERIODS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(timing: dict[str, Any]) -> str:
    flag = "" if timing["max_ms"] <= LIMIT_MS else " over"
    return f"{timing['median_ms']} / {timing['max_ms']} ({timing['api_median_ms']}){flag}"
