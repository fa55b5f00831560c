"""Routing decisions from detections, quality flags and the threshold policy (pure functions)."""

from __future__ import annotations

from inspection.validation import (
    DEFAULT_POLICY,
    Candidate,
    Policy,
    decide,
    lowest_confidence,
)

POLICY = Policy(
    default_threshold=0.5,
    class_thresholds={"damage": 0.8},
    min_confidence=0.2,
    review_if_no_detections=True,
    review_on_quality_flags=True,
)


def test_confident_detections_are_accepted() -> None:
    decision = decide([Candidate("parcel", 0.9), Candidate("label", 0.6)], [], POLICY)
    assert decision.status == "accepted"
    assert decision.reasons == []
    assert decision.accepted == {0: True, 1: True}


def test_thresholds_are_per_class() -> None:
    # 0.7 clears the default threshold (parcel) but not the damage threshold (0.8).
    decision = decide([Candidate("parcel", 0.7), Candidate("damage", 0.7)], [], POLICY)
    assert decision.status == "needs_review"
    assert decision.reasons == ["low_confidence:damage"]
    assert decision.accepted == {0: True, 1: False}


def test_low_confidence_reasons_name_each_class_once() -> None:
    detections = [Candidate("label", 0.3), Candidate("label", 0.4), Candidate("damage", 0.5)]
    assert decide(detections, [], POLICY).reasons == [
        "low_confidence:damage",
        "low_confidence:label",
    ]


def test_detections_below_min_confidence_are_noise() -> None:
    decision = decide([Candidate("parcel", 0.9), Candidate("damage", 0.1)], [], POLICY)
    assert decision.status == "accepted"
    assert decision.dropped == [1]
    assert decision.kept == [0]


def test_only_noise_counts_as_no_detections() -> None:
    decision = decide([Candidate("parcel", 0.05)], [], POLICY)
    assert decision.status == "needs_review"
    assert decision.reasons == ["no_detections"]


def test_no_detections_can_be_accepted_by_policy() -> None:
    policy = Policy(review_if_no_detections=False)
    assert decide([], [], policy).status == "accepted"


def test_quality_flags_route_to_review() -> None:
    decision = decide([Candidate("parcel", 0.9)], ["too_dark", "blurry"], POLICY)
    assert decision.status == "needs_review"
    assert decision.reasons == ["quality:too_dark", "quality:blurry"]


def test_quality_flags_can_be_ignored_by_policy() -> None:
    policy = Policy(review_on_quality_flags=False)
    assert decide([Candidate("parcel", 0.9)], ["too_dark"], policy).status == "accepted"


def test_reasons_combine() -> None:
    decision = decide([Candidate("label", 0.3)], ["too_dark"], POLICY)
    assert decision.reasons == ["low_confidence:label", "quality:too_dark"]


def test_threshold_is_inclusive() -> None:
    assert decide([Candidate("damage", 0.8)], [], POLICY).accepted == {0: True}
    assert decide([Candidate("parcel", 0.2)], [], POLICY).kept == [0]


def test_lowest_confidence_ignores_noise() -> None:
    detections = [Candidate("parcel", 0.9), Candidate("label", 0.4), Candidate("damage", 0.1)]
    assert lowest_confidence(detections, decide(detections, [], POLICY)) == 0.4
    assert lowest_confidence([], decide([], [], POLICY)) is None


def test_defaults_match_the_model_defaults() -> None:
    from inspection.models import ThresholdPolicy

    assert Policy.of(ThresholdPolicy()) == DEFAULT_POLICY


def test_policy_from_a_row_reads_class_thresholds() -> None:
    from inspection.models import ThresholdPolicy

    row = ThresholdPolicy(
        default_threshold=0.4, class_thresholds={"label": 0.9}, min_confidence=0.05
    )
    policy = Policy.of(row)
    assert policy.threshold_for("label") == 0.9
    assert policy.threshold_for("parcel") == 0.4
