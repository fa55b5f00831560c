"""Routing decisions: pure functions from detections, quality flags and a threshold policy.

Detections below the policy's `min_confidence` are noise: the decision lists them in `dropped`
and the validate stage deletes them (they never reach a reviewer or an export). Every kept
detection is `accepted` when its confidence reaches its class threshold; a kept detection below
its threshold sends the image to review (`low_confidence:<class>`, one reason per class).
A policy with `review_all` (a model with no thresholds yet) accepts nothing: every image goes to
review with the reason `no_thresholds`. A class under an open drift alert at a facility that
opted in (`watched`: inspection/learning/drift_routing.py) sends every image with a kept box of
it to review (`drift:<class>`), whatever its confidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Literal, Protocol

ACCEPTED: Literal["accepted"] = "accepted"
NEEDS_REVIEW: Literal["needs_review"] = "needs_review"
NO_THRESHOLDS = "no_thresholds"
DRIFT = "drift"


class PolicyLike(Protocol):
    """What Policy.of reads, read-only (a ThresholdPolicy's review_all is a property)."""

    @property
    def default_threshold(self) -> float: ...
    @property
    def class_thresholds(self) -> Mapping[str, float]: ...
    @property
    def min_confidence(self) -> float: ...
    @property
    def review_if_no_detections(self) -> bool: ...
    @property
    def review_on_quality_flags(self) -> bool: ...
    @property
    def review_all(self) -> bool: ...


@dataclass(frozen=True)
class Policy:
    default_threshold: float = 0.5
    class_thresholds: Mapping[str, float] = field(default_factory=dict)
    min_confidence: float = 0.1
    review_if_no_detections: bool = True
    review_on_quality_flags: bool = True
    review_all: bool = False

    @classmethod
    def of(cls, policy: PolicyLike) -> Policy:
        """From a ThresholdPolicy row (or anything shaped like one)."""
        return cls(
            default_threshold=float(policy.default_threshold),
            class_thresholds={k: float(v) for k, v in dict(policy.class_thresholds).items()},
            min_confidence=float(policy.min_confidence),
            review_if_no_detections=bool(policy.review_if_no_detections),
            review_on_quality_flags=bool(policy.review_on_quality_flags),
            review_all=bool(policy.review_all),
        )

    def threshold_for(self, class_name: str) -> float:
        return float(self.class_thresholds.get(class_name, self.default_threshold))


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Candidate:
    class_name: str
    confidence: float


@dataclass(frozen=True)
class Decision:
    status: Literal["accepted", "needs_review"]
    reasons: list[str]
    accepted: dict[int, bool]  # index of each kept detection -> at/above its class threshold
    dropped: list[int]  # indexes of detections below min_confidence (noise)

    @property
    def kept(self) -> list[int]:
        return sorted(self.accepted)


def decide(
    detections: Sequence[Candidate],
    quality_flags: Sequence[str],
    policy: Policy = DEFAULT_POLICY,
    watched: Set[str] = frozenset(),
) -> Decision:
    dropped = [i for i, d in enumerate(detections) if d.confidence < policy.min_confidence]
    accepted = {
        i: not policy.review_all and d.confidence >= policy.threshold_for(d.class_name)
        for i, d in enumerate(detections)
        if d.confidence >= policy.min_confidence
    }
    reasons = review_reasons(detections, accepted, quality_flags, policy)
    reasons += drift_reasons(detections, accepted, watched)
    return Decision(NEEDS_REVIEW if reasons else ACCEPTED, reasons, accepted, dropped)


def review_reasons(
    detections: Sequence[Candidate],
    accepted: Mapping[int, bool],
    quality_flags: Sequence[str],
    policy: Policy,
) -> list[str]:
    if policy.review_all:
        reasons = [NO_THRESHOLDS]
    else:
        unsure = sorted({detections[i].class_name for i, ok in accepted.items() if not ok})
        reasons = [f"low_confidence:{name}" for name in unsure]
    if policy.review_on_quality_flags:
        reasons += [f"quality:{flag}" for flag in quality_flags]
    if policy.review_if_no_detections and not accepted:
        reasons.append("no_detections")
    return reasons


def drift_reasons(
    detections: Sequence[Candidate], accepted: Mapping[int, bool], watched: Set[str]
) -> list[str]:
    """One reason per watched class among the kept boxes."""
    drifted = sorted({detections[i].class_name for i in accepted} & set(watched))
    return [f"{DRIFT}:{name}" for name in drifted]


def lowest_confidence(detections: Sequence[Candidate], decision: Decision) -> float | None:
    """The review queue's sort key: the lowest confidence among kept detections."""
    kept = [detections[i].confidence for i in decision.kept]
    return min(kept) if kept else None
