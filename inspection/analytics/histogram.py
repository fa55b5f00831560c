"""Latencies as sparse log-scale histograms: a value in milliseconds falls in bucket
floor(log(ms) / log(GROWTH)), and a bucket stands for the geometric middle of its bounds. Hours
of histograms add up to days exactly, and a percentile read from one is within HALF_WIDTH of the
exact one (the price of keeping an hour in a few hundred bytes instead of every value)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

GROWTH = 2 ** (1 / 16)  # each bucket is 4.4% wider than the one before
HALF_WIDTH = math.sqrt(GROWTH) - 1  # 2.2%: the largest relative error of a percentile
LOG_GROWTH = math.log(GROWTH)

Histogram = dict[str, int]  # bucket index (a JSON object key) -> count


def bucket(milliseconds: float) -> int:
    return math.floor(math.log(max(milliseconds, 1.0)) / LOG_GROWTH)


def middle(index: int) -> float:
    return GROWTH ** (index + 0.5)


def histogram(values: Iterable[float]) -> Histogram:
    counts = Counter(bucket(value) for value in values)
    return {str(index): n for index, n in sorted(counts.items())}


def plus(a: Histogram, b: Histogram) -> Histogram:
    total = Counter(a)
    total.update(b)
    return dict(total)


def add(total: Counter[int], one: Histogram) -> None:
    """Count `one` into `total` (histograms of hours add up to a day's exactly)."""
    for index, n in one.items():
        total[int(index)] += n


def percentile(counts: Counter[int], fraction: float) -> float | None:
    """The nearest-rank percentile (the value at rank ceil(fraction * n)), rounded to 0.1 ms;
    None without values."""
    size = sum(counts.values())
    if size == 0:
        return None
    rank, seen = max(math.ceil(fraction * size), 1), 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return round(middle(index), 1)
    raise AssertionError("rank beyond the histogram")
