"""Model boxes against the generator's truth, with calibration's matching (the one the
precision report judges audits with): greedy by confidence, each model box takes the unmatched
true box of its class it overlaps most at IoU >= 0.5, each true box taken at most once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inspection.calibration import thresholds as cal
from inspection.review.boxes import Box
from lab.field_loop.field import TrueBox


@dataclass(frozen=True)
class Matched:
    hits: list[bool]  # per model box, in the order given
    missed: list[TrueBox]  # true boxes no model box took


def match_truth(model: Sequence[Box], truths: Sequence[TrueBox]) -> Matched:
    ids = _class_ids([b.class_name for b in model] + [t.class_name for t in truths])
    detections = [
        cal.Detection(0, ids[b.class_name], _confidence(b), (b.x1, b.y1, b.x2, b.y2)) for b in model
    ]
    true = [cal.GroundTruth(0, ids[t.class_name], (t.x1, t.y1, t.x2, t.y2)) for t in truths]
    # cal.match answers in its own order, a stable sort by falling confidence: map it back.
    order = sorted(range(len(detections)), key=lambda i: -detections[i].confidence)
    hits = [False] * len(detections)
    for position, scored in zip(order, cal.match(detections, true), strict=True):
        hits[position] = scored.hit
    taken = cal.matched_truths(detections, true)
    return Matched(hits, [t for t, hit in zip(truths, taken, strict=True) if not hit])


def _class_ids(names: list[str]) -> dict[str, int]:
    return {name: index for index, name in enumerate(dict.fromkeys(names))}


def _confidence(box: Box) -> float:
    if box.confidence is None:
        raise ValueError("A model box without a confidence cannot be matched by confidence.")
    return box.confidence
