"""The calibration table `calibrate_thresholds` prints (`evaluate_model` prints it too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def render_calibration(classes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """`low95`: the precision is at least this with 95 % confidence, given `n` detections."""
    head = f"{'thresh':>6} {'prec':>6} {'low95':>6} {'n':>5} {'recall':>6}"
    lines = [f"  {'class':<7} {head}  target"]
    for name, row in classes.items():
        reached = "reached" if row["target_reached"] else "NOT reached (best precision)"
        lines.append(
            f"  {name:<7} {fmt(row['threshold']):>6} {fmt(row['precision']):>6} "
            f"{fmt(row['precision_low']):>6} {row['detections']:>5} "
            f"{fmt(row['recall']):>6}  {row['target_precision']} {reached}"
        )
    return lines
