"""Chart geometry for inline SVG drawn by the templates: numbers in, rectangles and points out.
No JavaScript and no chart library: the page is complete as the server sends it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    peak: float

    @property
    def baseline(self) -> float:
        return float(self.height)


def bar_chart(
    points: Sequence[tuple[str, float]], width: int = 600, height: int = 120, gap: float = 1.0
) -> BarChart:
    """Vertical bars side by side, scaled so the tallest fills the height."""
    peak = max((value for _, value in points), default=0.0)
    step = width / max(len(points), 1)
    bars = [
        Bar(
            x=round(index * step, 2),
            y=round(height - _scaled(value, peak, height), 2),
            width=round(max(step - gap, 1.0), 2),
            height=round(_scaled(value, peak, height), 2),
            label=label,
            value=value,
        )
        for index, (label, value) in enumerate(points)
    ]
    return BarChart(width, height, bars, peak)


def _scaled(value: float, peak: float, size: float) -> float:
    return value / peak * size if peak > 0 else 0.0


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    name: str
    share: float


def share_bar(shares: Sequence[tuple[str, float]], width: int = 300) -> list[Segment]:
    """One horizontal bar split into consecutive segments by share (shares sum to <= 1)."""
    segments, x = [], 0.0
    for name, share in shares:
        segments.append(Segment(round(x, 2), round(share * width, 2), name, share))
        x += share * width
    return segments


def polyline(values: Sequence[float], width: int = 300, height: int = 60) -> str:
    """SVG `points` for values in 0..1 spread over the width (confidence over days)."""
    if not values:
        return ""
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{round(i * step, 1)},{round(height - value * height, 1)}"
        for i, value in enumerate(values)
    )
