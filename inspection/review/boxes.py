"""Boxes as the review UI sends them and as the audit trail stores them: original-image pixels
(after EXIF orientation), validated against the image's size and the model's classes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from inspection.models import Detection, Image

MAX_BOXES = 500
MIN_SIDE = 1.0
# Compared at 1/100 px: a box the reviewer did not touch comes back bit for bit anyway.
PRECISION = 2


class InvalidBoxes(ValueError):
    """The submitted boxes cannot be stored (bad JSON, class, or geometry)."""


@dataclass(frozen=True)
class Box:
    class_id: int
    class_name: str
    x1: float
    y1: float
    x2: float
    y2: float
    confidence: float | None = None

    @classmethod
    def of(cls, detection: Detection) -> Box:
        return cls(
            detection.class_id,
            detection.class_name,
            detection.x1,
            detection.y1,
            detection.x2,
            detection.y2,
            detection.confidence,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "class_id": self.class_id,
            "class_name": self.class_name,
            "confidence": self.confidence,
            "box": [self.x1, self.y1, self.x2, self.y2],
        }

    def key(self) -> tuple[object, ...]:
        """What makes two boxes the same answer (confidence is the model's, not the answer)."""
        corners = (self.x1, self.y1, self.x2, self.y2)
        return (self.class_name, *(round(value, PRECISION) for value in corners))


def class_names_for(image: Image) -> list[str]:
    """Class names by class id: the image's model, else the facility's active model."""
    model = image.model_version or image.facility.active_model
    return list(model.class_names) if model else []


def snapshot(status: str, boxes: list[Box]) -> dict[str, object]:
    return {"status": status, "boxes": [box.as_json() for box in boxes]}


def changed_classes(before: list[Box], after: list[Box]) -> list[str]:
    """Classes whose set of boxes differs between the model's answer and the reviewer's."""
    old, new = Counter(box.key() for box in before), Counter(box.key() for box in after)
    return sorted({key[0] for key in (old - new) + (new - old)})  # type: ignore[misc]


def parse_boxes(raw: str, image: Image) -> list[Box]:
    """`[{"class_id": 0, "box": [x1, y1, x2, y2]}, ...]` from the task page, clamped to the
    image. Raises InvalidBoxes."""
    try:
        items = json.loads(raw)
    except (TypeError, ValueError):
        raise InvalidBoxes("Boxes are not valid JSON.") from None
    if not isinstance(items, list) or len(items) > MAX_BOXES:
        raise InvalidBoxes(f"Send a list of at most {MAX_BOXES} boxes.")
    names = class_names_for(image)
    return [_box(item, names, image.width or 0, image.height or 0) for item in items]


def _box(item: object, names: list[str], width: int, height: int) -> Box:
    try:
        class_id = int(item["class_id"])  # type: ignore[index]
        x1, y1, x2, y2 = (float(value) for value in item["box"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        raise InvalidBoxes("Each box needs class_id and box [x1, y1, x2, y2].") from None
    if not 0 <= class_id < len(names):
        raise InvalidBoxes(f"Unknown class id {class_id}.")
    x1, x2 = sorted((_clamp(x1, width), _clamp(x2, width)))
    y1, y2 = sorted((_clamp(y1, height), _clamp(y2, height)))
    if x2 - x1 < MIN_SIDE or y2 - y1 < MIN_SIDE:
        raise InvalidBoxes("A box is smaller than one pixel or outside the image.")
    return Box(class_id, names[class_id], x1, y1, x2, y2)


def _clamp(value: float, limit: int) -> float:
    if value != value:  # NaN
        raise InvalidBoxes("Box coordinates must be numbers.")
    return min(max(value, 0.0), float(limit))
