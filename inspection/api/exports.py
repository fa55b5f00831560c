"""CSV rendering of a batch's results. Cells come partly from the client (file names), so any
text a spreadsheet would run as a formula is neutralized."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from inspection.selectors import ResultRow

CSV_COLUMNS = [
    "image_id",
    "position",
    "original_name",
    "status",
    "reason",
    "multi_frame",
    "thresholds",
    "calibrated",
    "class_id",
    "class_name",
    "confidence",
    "accepted",
    "x1",
    "y1",
    "x2",
    "y2",
]
# Spreadsheets evaluate cells starting with these (tab and CR too, per OWASP's CSV injection
# guidance).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """Quote-prefix text that a spreadsheet would treat as a formula; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return f"'{value}"
    return value


def csv_cells(row: ResultRow) -> list[object]:
    box: list[object] = list(row.box) if row.box else ["", "", "", ""]
    cells = [
        row.image_id,
        row.position,
        row.original_name,
        row.status,
        row.reason,
        row.multi_frame,
        row.thresholds,
        row.calibrated,
        row.class_id,
        row.class_name,
        row.confidence,
        row.accepted,
        *box,
    ]
    return [csv_safe("" if cell is None else cell) for cell in cells]


def render_csv(rows: Iterable[ResultRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_cells(row) for row in rows)
    return buffer.getvalue()
