"""Small statistics and the target verdicts every benchmark reports."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (p90 of 10 runs is the 9th smallest): no interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return round(ordered[min(rank, len(ordered)) - 1], 3)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 3) if seconds > 0 else 0.0


def verdict(
    name: str, measured: float | None, target: str, passed: bool | None, note: str = ""
) -> dict[str, Any]:
    """One target line: `passed` is None when the target does not apply to this run."""
    return {"target": name, "measured": measured, "goal": target, "pass": passed, "note": note}


def at_least(name: str, measured: float | None, goal: float, note: str = "") -> dict[str, Any]:
    passed = None if measured is None else measured >= goal
    return verdict(name, measured, f">= {goal}", passed, note)


def at_most(name: str, measured: float | None, goal: float, note: str = "") -> dict[str, Any]:
    passed = None if measured is None else measured <= goal
    return verdict(name, measured, f"<= {goal}", passed, note)
