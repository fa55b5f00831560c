"""Threshold calibration as pure functions (numpy only, no Django): match predictions to ground
truth, find per class the lowest confidence threshold that reaches a target precision, and preview
how many detections and images those thresholds would send to review."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
IOU_MATCH = 0.5
# One-sided 95 %: "precision is at least this" is wrong one time in twenty.
Z_ONE_SIDED_95 = 1.6449


@dataclass(frozen=True)
class Detection:
    image: Hashable
    class_id: int
    confidence: float
    box: Box


@dataclass(frozen=True)
class GroundTruth:
    image: Hashable
    class_id: int
    box: Box


@dataclass(frozen=True)
class Scored:
    """One detection after matching: its confidence and whether it hit a ground truth."""

    image: Hashable
    class_id: int
    confidence: float
    hit: bool


@dataclass(frozen=True)
class ClassThreshold:
    class_id: int
    threshold: float
    precision: float
    recall: float
    reached: bool  # False: no threshold reached the target; this one has the best precision
    ground_truths: int
    detections: int  # at or above the threshold
    target: float  # the precision this class was calibrated for

    @property
    def precision_low(self) -> float:
        """What the precision is at least, with 95 % confidence, given how few detections it
        was measured on: 0.955 on 130 detections is not 0.955 on 1,300."""
        return precision_lower_bound(round(self.precision * self.detections), self.detections)


@dataclass(frozen=True)
class ReviewLoad:
    detection_share: float  # of detections at or above min_confidence
    image_share: float  # of all images
    detections: int
    images: int


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two xyxy boxes; 0 for empty boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(
    detections: Sequence[Detection],
    truths: Sequence[GroundTruth],
    iou_min: float = IOU_MATCH,
) -> list[Scored]:
    """Greedy by confidence, per image and class: each detection takes the unmatched ground truth
    it overlaps most (IoU >= iou_min); each ground truth is matched at most once."""
    return [
        Scored(d.image, d.class_id, d.confidence, t is not None)
        for d, t in _assign(detections, truths, iou_min)
    ]


def matched_truths(
    detections: Sequence[Detection],
    truths: Sequence[GroundTruth],
    iou_min: float = IOU_MATCH,
) -> list[bool]:
    """Per ground truth (in order), whether `match` gives it a detection."""
    taken = {t for _, t in _assign(detections, truths, iou_min) if t is not None}
    return [i in taken for i in range(len(truths))]


def _assign(
    detections: Sequence[Detection],
    truths: Sequence[GroundTruth],
    iou_min: float,
) -> list[tuple[Detection, int | None]]:
    """Each detection with the index of the ground truth it took, or None."""
    free: dict[tuple[Hashable, int], list[int]] = defaultdict(list)
    for index, truth in enumerate(truths):
        free[(truth.image, truth.class_id)].append(index)
    return [
        (det, _take_best(free[(det.image, det.class_id)], truths, det.box, iou_min))
        for det in sorted(detections, key=lambda d: -d.confidence)
    ]


def _take_best(
    candidates: list[int],
    truths: Sequence[GroundTruth],
    box: Box,
    iou_min: float,
) -> int | None:
    if not candidates:
        return None
    overlaps = [iou(box, truths[c].box) for c in candidates]
    best = int(np.argmax(overlaps))
    if overlaps[best] < iou_min:
        return None
    return candidates.pop(best)


def precision_lower_bound(hits: int, n: int, z: float = Z_ONE_SIDED_95) -> float:
    """Wilson score lower bound of a proportion (sound at 0 or n hits, unlike p - z*se)."""
    if n == 0:
        return 0.0
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float((centre - spread) / (1 + z * z / n))


def precision_recall(
    scored: Sequence[Scored],
    n_truths: int,
    threshold: float,
) -> tuple[float, float]:
    """Precision and recall of the detections at or above `threshold` (precision 1 when none)."""
    kept = [s.hit for s in scored if s.confidence >= threshold]
    hits = sum(kept)
    precision = hits / len(kept) if kept else 1.0
    recall = hits / n_truths if n_truths else 0.0
    return precision, recall


def calibrate_class(
    scored: Sequence[Scored],
    n_truths: int,
    target: float,
    class_id: int = 0,
) -> ClassThreshold:
    """The lowest candidate threshold (a detection confidence) whose precision reaches `target`;
    if none does, the one with the best precision (ties: the lowest, for recall)."""
    candidates = sorted({s.confidence for s in scored})
    if not candidates:
        return ClassThreshold(class_id, 1.0, 1.0, 0.0, False, n_truths, 0, target)
    table = [(t, *precision_recall(scored, n_truths, t)) for t in candidates]
    reaching = [row for row in table if row[1] >= target]
    reached = bool(reaching)
    threshold, precision, recall = reaching[0] if reached else max(table, key=lambda r: r[1])
    kept = sum(s.confidence >= threshold for s in scored)
    return ClassThreshold(class_id, threshold, precision, recall, reached, n_truths, kept, target)


def calibrate(
    scored: Sequence[Scored],
    truths: Sequence[GroundTruth],
    class_ids: Sequence[int],
    target: float | Mapping[int, float],
) -> dict[int, ClassThreshold]:
    """`target`: one precision for every class, or one per class id (a class missing from the
    mapping is an error, not a silent default)."""
    targets = target if isinstance(target, Mapping) else dict.fromkeys(class_ids, target)
    return {
        c: calibrate_class(
            [s for s in scored if s.class_id == c],
            sum(t.class_id == c for t in truths),
            targets[c],
            c,
        )
        for c in class_ids
    }


def review_load(
    detections: Sequence[Scored] | Sequence[Detection],
    thresholds: Mapping[int, float],
    min_confidence: float,
    images: Sequence[Hashable],
) -> ReviewLoad:
    """A detection between min_confidence and its class threshold routes its image to review."""
    reported = [d for d in detections if d.confidence >= min_confidence]
    doubtful = [d for d in reported if d.confidence < thresholds.get(d.class_id, 1.0)]
    flagged = {d.image for d in doubtful}
    return ReviewLoad(
        detection_share=len(doubtful) / len(reported) if reported else 0.0,
        image_share=len(flagged) / len(images) if images else 0.0,
        detections=len(doubtful),
        images=len(flagged),
    )
