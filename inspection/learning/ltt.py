"""The recommended threshold of each class, by fixed-sequence Learn then Test (Angelopoulos,
Bates et al. 2021): for each candidate threshold, from the strictest down, test the null
"the precision of boxes at or above it is below the target" with the exact binomial tail
p-value of the false positives seen (scipy's binom.cdf), and stop at the first candidate that
is not rejected. The recommendation is the last one rejected (the lowest threshold certified);
with none, there is no recommendation. Testing in a fixed order, each at the full level, keeps
the chance of certifying any threshold whose true precision is below the target under delta
for the class; the classes of one policy share alpha by Bonferroni (delta = alpha / classes), so
the chance that any class's recommendation misses its target is at most alpha.

The candidates are a grid fixed in advance: 0.99 down to the class's current threshold in steps
of 0.01 (audits see only auto-accepted boxes, which are all at or above it, so nothing below can
be tested). The sequence starts at the strictest candidate with enough audited boxes that one
false positive among them could still be certified (`boxes_to_start`): that choice reads the
confidences only, never a verdict, so the order is still fixed before any test looks at one.

MAPIE (mapie.risk_control) implements Learn then Test with Hoeffding-Bentkus p-values and a
Bonferroni correction over every candidate; for a binomial loss the exact tail is sharper, and
fixed-sequence testing spends no alpha on the candidates it never reaches, so both are done
here with scipy alone (one dependency fewer: MAPIE pulls in scikit-learn)."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
STEP = 0.01
TOP = 0.99


@dataclass(frozen=True)
class Observation:
    """One auto-accepted box an audit judged: its confidence, and whether the reviewer kept it."""

    confidence: float
    correct: bool


@dataclass(frozen=True)
class Step:
    threshold: float
    n: int  # audited boxes at or above the threshold
    errors: int  # of which false positives
    p_value: float
    certified: bool


@dataclass(frozen=True)
class ClassResult:
    target: float
    delta: float  # this class's share of alpha
    threshold: float | None  # the recommendation: the lowest certified candidate
    steps: tuple[Step, ...]  # the tests made, strictest first; the last failed unless all passed


def candidates(floor: float, top: float = TOP, step: float = STEP) -> list[float]:
    """The grid, strictest first: `top` down to `floor` (rounded up to the grid)."""
    count = int(math.floor((top - floor) / step + 1e-9))
    return [round(top - i * step, 6) for i in range(max(count, -1) + 1)]


def p_value(errors: int, n: int, target: float) -> float:
    """P(at most `errors` false positives in n | precision exactly at the target): small when
    the boxes are better than the target. 1 with no box (nothing shows it)."""
    if n == 0:
        return 1.0
    return float(stats.binom.cdf(errors, n, 1 - target))


def boxes_to_start(target: float, delta: float) -> int:
    """Fewest boxes on which one false positive can still be certified: the sequence starts
    there, so that a single unlucky error on the first, sparsest candidates does not end it
    before it has data (with none allowed, 0.9 at delta 0.0167 would start on 39 boxes and stop
    there whenever one of them was wrong)."""
    if target >= 1:
        return sys.maxsize  # no number of boxes shows a precision of exactly 1
    n = math.ceil(math.log(delta) / math.log(target))  # certifies with no error at all
    while p_value(1, n, target) > delta:
        n += 1
    return n


def fixed_sequence(
    observations: Sequence[Observation], grid: Sequence[float], target: float, delta: float
) -> ClassResult:
    confidence = np.array([o.confidence for o in observations], dtype=float)
    wrong = np.array([not o.correct for o in observations], dtype=bool)
    needed = boxes_to_start(target, delta)
    steps: list[Step] = []
    for threshold in grid:
        above = confidence >= threshold
        n, errors = int(above.sum()), int(wrong[above].sum())
        if not steps and n < needed:
            continue  # too few boxes yet: the sequence starts lower
        p = p_value(errors, n, target)
        steps.append(Step(threshold, n, errors, p, p <= delta))
        if p > delta:
            break
    passed = [step.threshold for step in steps if step.certified]
    return ClassResult(target, delta, min(passed) if passed else None, tuple(steps))


def learn_then_test(
    observations: Mapping[str, Sequence[Observation]],
    grids: Mapping[str, Sequence[float]],
    targets: Mapping[str, float],
    alpha: float = ALPHA,
) -> dict[str, ClassResult]:
    """Every class of one policy, alpha split equally among them."""
    delta = alpha / max(len(observations), 1)
    return {
        name: fixed_sequence(observations[name], grids[name], targets[name], delta)
        for name in observations
    }
