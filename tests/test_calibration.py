"""Threshold calibration math: IoU, greedy matching, the lowest threshold reaching a target
precision, and the review-load preview, on hand-built cases with known answers."""

from __future__ import annotations

import pytest

from inspection.calibration.thresholds import (
    Detection,
    GroundTruth,
    Scored,
    calibrate,
    calibrate_class,
    iou,
    match,
    precision_lower_bound,
    precision_recall,
    review_load,
)

# 20 hits from 0.99 down to 0.80, a miss at 0.79, hits at 0.78 and 0.77, misses below.
HIT_CONFIDENCES = [round(0.99 - i / 100, 2) for i in range(20)] + [0.78, 0.77]
MISS_CONFIDENCES = [0.79, 0.5, 0.4, 0.3]


def scored_case(class_id: int = 0) -> list[Scored]:
    hits = [Scored(f"h{i}", class_id, c, True) for i, c in enumerate(HIT_CONFIDENCES)]
    misses = [Scored(f"m{i}", class_id, c, False) for i, c in enumerate(MISS_CONFIDENCES)]
    return hits + misses


def test_iou_of_overlapping_disjoint_and_identical_boxes() -> None:
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert iou((2, 3, 8, 9), (2, 3, 8, 9)) == pytest.approx(1.0)
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_matching_is_greedy_by_confidence_one_detection_per_truth() -> None:
    truths = [GroundTruth("a", 0, (0, 0, 10, 10)), GroundTruth("a", 1, (20, 20, 30, 30))]
    detections = [
        Detection("a", 0, 0.6, (0, 0, 10, 10)),  # exact, but the 0.9 one claims the truth first
        Detection("a", 0, 0.9, (1, 0, 10, 10)),  # IoU 0.9: hit
        Detection("a", 0, 0.8, (5, 0, 15, 10)),  # IoU 1/3 < 0.5: miss
        Detection("a", 2, 0.7, (20, 20, 30, 30)),  # right place, wrong class: miss
        Detection("b", 1, 0.95, (20, 20, 30, 30)),  # another image: miss
        Detection("a", 1, 0.5, (21, 21, 30, 30)),  # hit
    ]
    hits = {(s.confidence, s.hit) for s in match(detections, truths)}
    assert hits == {
        (0.95, False),
        (0.9, True),
        (0.8, False),
        (0.7, False),
        (0.6, False),
        (0.5, True),
    }


def test_lowest_threshold_reaching_the_target_precision() -> None:
    result = calibrate_class(scored_case(), n_truths=25, target=0.95)
    assert result.threshold == 0.77
    assert result.reached
    assert result.precision == pytest.approx(22 / 23)  # the 0.79 miss is inside
    assert result.recall == pytest.approx(22 / 25)
    assert result.detections == 23
    # One step lower and precision drops below the target.
    assert precision_recall(scored_case(), 25, 0.5)[0] == pytest.approx(22 / 24)


def test_precision_lower_bound_known_values() -> None:
    z2 = 1.6449**2
    # All hits: the Wilson bound is n / (n + z^2).
    assert precision_lower_bound(20, 20) == pytest.approx(20 / (20 + z2))
    # 19 of 20, worked by hand: (0.95 + z2/40 - z*sqrt(0.95*0.05/20 + z2/1600)) / (1 + z2/20).
    assert precision_lower_bound(19, 20) == pytest.approx(0.8040, abs=1e-4)
    assert precision_lower_bound(0, 0) == 0.0
    assert precision_lower_bound(0, 10) == pytest.approx(0.0, abs=1e-12)


def test_calibrated_precision_says_how_far_it_can_be_trusted() -> None:
    result = calibrate_class(scored_case(), n_truths=25, target=0.95)
    assert result.precision_low == pytest.approx(precision_lower_bound(22, 23))
    assert result.precision_low < 0.9 < result.precision
    # The same precision measured on ten times the detections is bounded much closer.
    assert precision_lower_bound(220, 230) > result.precision_low + 0.05


def test_unreachable_target_falls_back_to_the_best_precision() -> None:
    scored = [Scored("a", 2, 0.9, False), Scored("b", 2, 0.8, True), Scored("c", 2, 0.7, True)]
    result = calibrate_class(scored, n_truths=4, target=0.95, class_id=2)
    assert not result.reached
    assert result.threshold == 0.7
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(0.5)


def test_a_class_with_no_detections_is_not_reached() -> None:
    result = calibrate_class([], n_truths=3, target=0.95, class_id=1)
    assert not result.reached and result.recall == 0.0 and result.threshold == 1.0


def test_calibrate_splits_by_class() -> None:
    truths = [GroundTruth(f"t{i}", 0, (0, 0, 1, 1)) for i in range(25)]
    truths.append(GroundTruth("x", 1, (0, 0, 1, 1)))
    scored = scored_case() + [Scored("x", 1, 0.4, True)]
    result = calibrate(scored, truths, [0, 1], target=0.95)
    assert result[0].threshold == 0.77 and result[0].recall == pytest.approx(22 / 25)
    assert result[1].threshold == 0.4 and result[1].recall == 1.0


def test_review_load_counts_detections_between_the_floor_and_their_threshold() -> None:
    detections = [
        Scored("a", 0, 0.9, True),  # accepted
        Scored("b", 0, 0.5, True),  # review
        Scored("c", 0, 0.05, False),  # below min_confidence: dropped, not counted
        Scored("d", 1, 0.3, False),  # review (class 1 threshold 0.6)
        Scored("d", 1, 0.35, True),  # review, same image
    ]
    load = review_load(detections, {0: 0.77, 1: 0.6}, 0.1, ["a", "b", "c", "d", "e"])
    assert load.detections == 3 and load.detection_share == pytest.approx(3 / 4)
    assert load.images == 2 and load.image_share == pytest.approx(2 / 5)


def test_review_load_on_the_calibrated_case() -> None:
    scored = scored_case()
    threshold = calibrate_class(scored, 25, 0.95).threshold
    images = [s.image for s in scored]
    load = review_load(scored, {0: threshold}, min_confidence=0.35, images=images)
    # Reported (>= 0.35): 22 hits, the 0.79 miss, 0.5 and 0.4; below 0.77: 0.5 and 0.4.
    assert load.detections == 2 and load.detection_share == pytest.approx(2 / 25)
    assert load.image_share == pytest.approx(2 / 26)


def test_calibrate_takes_a_target_per_class() -> None:
    truths = [GroundTruth(f"t{i}", 0, (0, 0, 1, 1)) for i in range(25)]
    scored = scored_case()
    strict = calibrate(scored, truths, [0], target={0: 0.95})[0]
    # 0.85 is still reached at 0.4 (22 hits of 25 kept), no longer at 0.3 (22 of 26).
    loose = calibrate(scored, truths, [0], target={0: 0.85})[0]
    assert (strict.threshold, strict.target) == (0.77, 0.95)
    assert (loose.threshold, loose.target) == (0.4, 0.85)
    assert loose.precision == pytest.approx(22 / 25) and loose.reached


def test_calibrate_refuses_a_class_without_a_target() -> None:
    with pytest.raises(KeyError):
        calibrate(scored_case(), [], [0, 1], target={0: 0.9})
