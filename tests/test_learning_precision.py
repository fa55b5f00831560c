"""The statistics of the learning loop: the Clopper-Pearson lower bound of precision, the audits
still needed to certify a target, and fixed-sequence Learn then Test, which stops at the first
threshold it cannot certify and keeps the chance that any class's recommendation misses its
target under alpha (a simulation where the truth is known)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from inspection.learning import ltt, precision
from inspection.learning.ltt import Observation


def tail_bound(hits: int, n: int) -> float:
    """The bound by its definition: the precision p at which seeing `hits` or more of n is a
    5 % event (bisection on the binomial tail, not the beta quantile)."""
    low, high = 0.0, 1.0
    for _ in range(200):
        middle = (low + high) / 2
        if stats.binom.sf(hits - 1, n, middle) < 0.05:
            low = middle
        else:
            high = middle
    return low


@pytest.mark.parametrize("hits, n", [(50, 50), (45, 50), (1, 1), (98, 100), (300, 320), (3, 10)])
def test_the_lower_bound_is_clopper_pearsons(hits: int, n: int) -> None:
    bound = precision.lower_bound(hits, n)
    assert bound == pytest.approx(stats.beta.ppf(0.05, hits, n - hits + 1), abs=1e-12)
    assert bound == pytest.approx(tail_bound(hits, n), abs=1e-9)


def test_known_bounds() -> None:
    assert precision.lower_bound(50, 50) == pytest.approx(0.9418, abs=5e-5)
    assert precision.lower_bound(50, 50) == pytest.approx(0.05 ** (1 / 50))
    assert precision.lower_bound(0, 10) == 0.0
    assert precision.lower_bound(0, 0) == 0.0


def test_further_audits_is_the_smallest_count_that_would_certify() -> None:
    # Every audit correct: the bound is 0.05**(1/N), which first reaches 0.95 at N = 59.
    assert precision.further_audits(0, 0, 0.95) == 59
    assert precision.further_audits(50, 50, 0.95) == 9
    assert precision.further_audits(59, 59, 0.95) == 0
    assert precision.further_audits(90, 100, 0.95) is None  # below the target: never
    assert precision.further_audits(95, 100, 0.95) is None  # at it: never either
    needed = precision.further_audits(98, 100, 0.95)
    assert needed is not None and needed > 0
    total = 100 + needed
    assert precision.lower_bound(0.98 * total, total) >= 0.95
    assert precision.lower_bound(0.98 * (total - 1), total - 1) < 0.95


def test_the_candidates_run_from_the_strictest_down_to_the_current_threshold() -> None:
    grid = ltt.candidates(0.553)
    assert grid[:3] == [0.99, 0.98, 0.97]
    assert grid[-1] == 0.56 and len(grid) == 44
    assert ltt.candidates(0.995) == []


def test_the_p_value_is_the_binomial_tail() -> None:
    assert ltt.p_value(0, 59, 0.95) == pytest.approx(0.95**59)
    assert ltt.p_value(3, 100, 0.9) == pytest.approx(
        sum(math.comb(100, k) * 0.1**k * 0.9 ** (100 - k) for k in range(4))
    )
    assert ltt.p_value(0, 0, 0.9) == 1.0


def boxes(confidence: float, count: int, correct: bool) -> list[Observation]:
    return [Observation(confidence, correct)] * count


def test_fixed_sequence_stops_at_the_first_failure() -> None:
    seen = (
        boxes(0.95, 200, True)  # 0.95 .. 0.90 certify
        + boxes(0.895, 40, False)  # 0.89 fails: 40 wrong of 240
        + boxes(0.85, 2000, True)  # below, precision would pass again: never tested
    )
    result = ltt.fixed_sequence(seen, ltt.candidates(0.5), target=0.9, delta=0.05)
    assert result.threshold == 0.9
    tested = [step.threshold for step in result.steps]
    assert tested == [0.95, 0.94, 0.93, 0.92, 0.91, 0.9, 0.89]  # 0.99 .. 0.96: no box yet
    assert [step.certified for step in result.steps] == [True] * 6 + [False]
    assert (result.steps[-1].n, result.steps[-1].errors) == (240, 40)


def test_too_few_boxes_certify_nothing() -> None:
    result = ltt.fixed_sequence(boxes(0.97, 20, True), ltt.candidates(0.5), 0.95, 0.05)
    assert result.threshold is None and result.steps == ()


def test_alpha_is_split_among_the_classes() -> None:
    # 3 false positives in 200 boxes: p = 0.009, certified at delta 0.0125 (4 classes), not at
    # 0.005 (10 classes).
    def seen(names: list[str]) -> dict[str, list[Observation]]:
        return {name: boxes(0.97, 197, True) + boxes(0.97, 3, False) for name in names}

    def recommended(names: list[str]) -> set[float | None]:
        grids = dict.fromkeys(names, ltt.candidates(0.5))
        results = ltt.learn_then_test(seen(names), grids, dict.fromkeys(names, 0.95), alpha=0.05)
        assert {r.delta for r in results.values()} == {0.05 / len(names)}
        return {r.threshold for r in results.values()}

    assert recommended(["parcel", "label", "damage", "tape"]) == {0.5}
    assert recommended([f"class{i}" for i in range(10)]) == {None}


# --- family-wise error, simulated ----------------------------------------------------------------

# P(correct | confidence s) = a + b*s with s uniform on [0.5, 1]: the precision of the boxes at or
# above t is a + b*(t + 1)/2. Targets 0.9: class "parcel" reaches it at t >= 0.693, "label" at
# t >= 0.778, "damage" everywhere on the grid. 2,000 audited boxes a class: a facility's 2 % of
# some 100,000 images.
TRUTH = {"parcel": (0.35, 0.65), "label": (0.1, 0.9), "damage": (0.7, 0.3)}
TARGET = 0.9
FLOOR = 0.5


def true_precision(name: str, threshold: float) -> float:
    a, b = TRUTH[name]
    return a + b * (threshold + 1) / 2


def simulated(rng: np.random.Generator, per_class: int) -> dict[str, list[Observation]]:
    found = {}
    for name, (a, b) in TRUTH.items():
        confidence = rng.uniform(FLOOR, 1.0, per_class)
        correct = rng.random(per_class) < a + b * confidence
        found[name] = [
            Observation(float(s), bool(c)) for s, c in zip(confidence, correct, strict=True)
        ]
    return found


@pytest.mark.slow  # over a second on 2 cores (pytest.ini)
def test_the_chosen_thresholds_miss_their_target_in_at_most_alpha_of_runs() -> None:
    rng = np.random.default_rng(2021)
    runs, misses, chosen = 200, 0, {name: 0 for name in TRUTH}
    grids = dict.fromkeys(TRUTH, ltt.candidates(FLOOR))
    for _ in range(runs):
        results = ltt.learn_then_test(
            simulated(rng, 2000), grids, dict.fromkeys(TRUTH, TARGET), alpha=0.05
        )
        picked = {name: r.threshold for name, r in results.items() if r.threshold is not None}
        misses += any(true_precision(name, t) < TARGET for name, t in picked.items())
        for name in picked:
            chosen[name] += 1
    assert misses / runs <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / runs)
    # Not vacuous: most runs recommend a threshold for every class.
    assert min(chosen.values()) >= 0.8 * runs


@pytest.mark.slow  # over a second on 2 cores (pytest.ini)
def test_without_the_guarantee_the_same_runs_miss_far_more_often() -> None:
    """The control: the lowest threshold whose observed precision reaches the target (no
    bound, no sequence) misses in most runs, so the test above measures something."""
    rng = np.random.default_rng(2021)
    runs, misses = 200, 0
    for _ in range(runs):
        seen = simulated(rng, 2000)
        for name, found in seen.items():
            ok = [
                t
                for t in ltt.candidates(FLOOR)
                if (above := [o.correct for o in found if o.confidence >= t])
                and sum(above) / len(above) >= TARGET
            ]
            if ok and true_precision(name, min(ok)) < TARGET:
                misses += 1
                break
    assert misses / runs > 0.3
