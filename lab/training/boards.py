"""Damage recall by the board it lies on. The data set does not record a damage mark's board
colour, so it is estimated from the pixels in a ring around the box: low saturation reads as
white/grey board when bright and as `dim` otherwise (grey board in shade, or any board in a
low-light capture), an orange hue as kraft, anything else as coloured board. An estimate, good
enough to show where the model is weak."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from inspection.calibration import thresholds as cal
from inspection.calibration.dataset import Sample
from lab.synthetic.parcels import CLASS_NAMES

BOARDS = ("kraft", "white/grey", "coloured", "dim")
DAMAGE = CLASS_NAMES.index("damage")
GREY_SATURATION = 50  # OpenCV HSV, 0-255
BRIGHT_VALUE = 150
KRAFT_HUES = (5, 25)  # OpenCV hue, 0-180: orange-brown


def board_around(image: np.ndarray, box: cal.Box) -> str:
    """The board a box lies on, from the median HSV of a ring around it."""
    ring = _ring(image, box)
    if len(ring) == 0:
        return "dim"
    hsv = cv2.cvtColor(ring.reshape(-1, 1, 3), cv2.COLOR_BGR2HSV).reshape(-1, 3)
    hue, saturation, value = np.median(hsv, axis=0)
    if saturation < GREY_SATURATION:
        return "white/grey" if value > BRIGHT_VALUE else "dim"
    return "kraft" if KRAFT_HUES[0] <= hue <= KRAFT_HUES[1] else "coloured"


def _ring(image: np.ndarray, box: cal.Box) -> np.ndarray:
    """The pixels within a quarter of the box's width around it, the box itself left out."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    pad = max(4, (x2 - x1) // 4)
    ox1, oy1 = max(0, x1 - pad), max(0, y1 - pad)
    ox2, oy2 = min(width, x2 + pad), min(height, y2 + pad)
    outer = np.ones((max(0, oy2 - oy1), max(0, ox2 - ox1)), bool)
    outer[max(0, y1 - oy1) : max(0, y2 - oy1), max(0, x1 - ox1) : max(0, x2 - ox1)] = False
    return image[oy1:oy2, ox1:ox2][outer]


def damage_by_board(
    samples: list[Sample],
    detections: list[cal.Detection],
    thresholds: Mapping[int, float],
    damage_id: int = DAMAGE,
) -> dict[str, dict[str, Any]]:
    """Per board: damage truths, the share any detection locates (IoU >= 0.5, any confidence)
    and the share kept at the calibrated threshold (the recall the service would accept)."""
    truths = [t for s in samples for t in _damage_of(s, damage_id)]
    damage = [d for d in detections if d.class_id == damage_id]
    kept = [d for d in damage if d.confidence >= thresholds.get(damage_id, 1.0)]
    located, accepted = cal.matched_truths(damage, truths), cal.matched_truths(kept, truths)
    boards = [board for s in samples for board in _boards(s, damage_id)]  # in the order of `truths`
    rows = {}
    for board in BOARDS:
        picked = [i for i, b in enumerate(boards) if b == board]
        rows[board] = {
            "truths": len(picked),
            "located": _share(located, picked),
            "recall": _share(accepted, picked),
        }
    return rows


def _damage_of(sample: Sample, damage_id: int) -> list[cal.GroundTruth]:
    return [t for t in sample.truths if t.class_id == damage_id]


def _boards(sample: Sample, damage_id: int) -> list[str]:
    """The board under each of the sample's damage marks (the image is read only if it has any)."""
    damage = _damage_of(sample, damage_id)
    if not damage:
        return []
    image = cv2.imread(str(sample.path))
    if image is None:  # OpenCV's answer to a file it cannot read
        raise ValueError(f"{sample.path}: OpenCV cannot read this image")
    return [board_around(image, truth.box) for truth in damage]


def _share(hits: list[bool], picked: list[int]) -> float | None:
    return round(sum(hits[i] for i in picked) / len(picked), 4) if picked else None
