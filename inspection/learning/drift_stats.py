"""The drift statistic: the population stability index (PSI) between two histograms of the same
bins (the confidence rollups' 20 equal bins from 0 to 1),

    PSI = sum over bins of (r_i - q_i) * ln(r_i / q_i),

r the recent share of boxes in a bin, q the reference share. It is an effect size (it does not
grow with the number of boxes, unlike a test's p-value, which on thousands of boxes calls every
trivial shift significant) and reads directly off the binned counts the rollups keep. Customary
reading: below 0.1 stable, 0.1 to 0.2 moderate, above 0.2 a significant shift: the cut-off.

Each bin gets half a box on both sides before the shares are taken (an empty bin would make the
logarithm infinite), and neither side is compared below MIN_BOXES: with n boxes on each side an
unchanged distribution still shows a PSI of about (bins used - 1) * 2 / n from sampling alone.
Simulated on a Beta(8, 2) confidence curve: at 500 a side the mean is 0.05 and the largest of
2,000 checks 0.14, under the cut-off; at 300 one in a few hundred crosses 0.2, and at 50 the
mean alone is 0.3."""

from __future__ import annotations

import math
from collections.abc import Sequence

PSI_CUTOFF = 0.2
PSI_MODERATE = 0.1
MIN_BOXES = 500
PSEUDO_COUNT = 0.5


def psi(reference: Sequence[int], recent: Sequence[int]) -> float:
    """PSI of `recent` against `reference` (counts per bin, the same bins)."""
    if len(reference) != len(recent):
        raise ValueError(f"bins differ: {len(reference)} reference, {len(recent)} recent")
    q = _shares(reference)
    r = _shares(recent)
    return sum((b - a) * math.log(b / a) for a, b in zip(q, r, strict=True))


def comparable(reference: Sequence[int], recent: Sequence[int]) -> bool:
    return sum(reference) >= MIN_BOXES and sum(recent) >= MIN_BOXES


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts) + PSEUDO_COUNT * len(counts)
    return [(count + PSEUDO_COUNT) / total for count in counts]
