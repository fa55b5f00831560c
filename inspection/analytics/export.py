"""A chart's numbers as CSV (the download under each chart): a row per bucket and a column per
series, or a row per class and confidence bin. Text cells are neutralized for spreadsheets as
the results CSV does."""

from __future__ import annotations

import csv
import io

from inspection.analytics.series import Distributions, TimeSeries
from inspection.api.exports import csv_safe


def render(result: TimeSeries | Distributions) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rows = _time_rows(result) if isinstance(result, TimeSeries) else _class_rows(result)
    writer.writerows([csv_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _time_rows(result: TimeSeries) -> list[list[object]]:
    head: list[object] = ["bucket_start", *(f"{s.key} ({s.unit})" for s in result.series)]
    rows = [head]
    for index, start in enumerate(result.buckets):
        values = [_cell(s.values[index]) for s in result.series]
        rows.append([start.isoformat(), *values])
    return rows


def _class_rows(result: Distributions) -> list[list[object]]:
    facilities = sorted({mark.facility for c in result.classes for mark in c.thresholds})
    head: list[object] = ["class", "bin_low", "bin_high", "current", "reference"]
    rows = [head + [f"threshold {slug}" for slug in facilities]]
    for item in result.classes:
        marks = {mark.facility: _cell(mark.value) for mark in item.thresholds}
        for index, (now, then) in enumerate(zip(item.current, item.reference, strict=True)):
            bounds = [result.edges[index], result.edges[index + 1]]
            rows.append(
                [item.class_name, *bounds, now, then, *(marks.get(f, "") for f in facilities)]
            )
    return rows


def file_name(result: TimeSeries | Distributions) -> str:
    window = result.scope.window
    where = "-".join(f.slug for f in result.scope.facilities) or "none"
    return f"{result.chart}-{where}-{window.since:%Y%m%dT%H%M}-{window.until:%Y%m%dT%H%M}.csv"


def _cell(value: object) -> object:
    return "" if value is None else value
