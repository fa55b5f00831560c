"""Precision measured on audits, with a guarantee: the one-sided Clopper-Pearson lower bound
(exact binomial, from scipy's beta quantiles; sound with every audit correct, unlike a normal
approximation), and how many further audits a target needs.

Further audits: the smallest m such that, were the observed precision p to hold on n + m
audits, the bound would reach the target. The bound is evaluated with p * (n + m) successes,
a real number (the beta quantile accepts one), so it grows smoothly with m and a bisection finds
the smallest. With no audit yet p is taken as 1 (the fewest audits that could certify: 59 for
0.95); with p at or below the target no number of audits certifies it (None)."""

from __future__ import annotations

from scipy import stats

CONFIDENCE = 0.95
# Past this many audits in all, we say "never" rather than search further.
MAX_AUDITS = 10_000_000


def lower_bound(hits: float, n: float, confidence: float = CONFIDENCE) -> float:
    """Precision is at least this, with `confidence`: Beta(1 - confidence; hits, n - hits + 1)."""
    if n <= 0 or hits <= 0:
        return 0.0
    return float(stats.beta.ppf(1 - confidence, hits, n - hits + 1))


def further_audits(hits: int, n: int, target: float, confidence: float = CONFIDENCE) -> int | None:
    """Audits still needed before the bound reaches `target` if the observed precision held;
    0 when it already does, None when it never would."""
    if lower_bound(hits, n, confidence) >= target:
        return 0
    observed = hits / n if n else 1.0
    if observed <= target:
        return None
    high = max(n, 1)
    while not _certifies(observed, high, target, confidence):
        high *= 2
        if high > MAX_AUDITS:
            return None
    low = n  # does not certify (checked above)
    while high - low > 1:
        middle = (low + high) // 2
        if _certifies(observed, middle, target, confidence):
            high = middle
        else:
            low = middle
    return high - n


def _certifies(observed: float, total: int, target: float, confidence: float) -> bool:
    return lower_bound(observed * total, total, confidence) >= target
