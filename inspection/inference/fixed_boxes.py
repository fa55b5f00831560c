"""A model that costs nothing, for the bench only (INFERENCE_BENCH_FIXED_BOXES=1): every image
gets the same two boxes, scaled to its array, without running anything. It stands for a GPU far
faster than any CPU, so the bench can measure the ceiling of the pipeline itself (decoding,
storage, database, broker) with the model out of the way. Never set it in production: its
boxes say nothing about the images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from inspection.inference.loaded import LoadedModel, Prediction

# Two boxes as fractions of the array (x1, y1, x2, y2), one confident and one not, so that
# validation routes some images to review as it would with a real model.
BOXES = np.array([[0.1, 0.1, 0.5, 0.6], [0.55, 0.2, 0.9, 0.8]])
CONFIDENCES = np.array([0.91, 0.42])


class FixedBoxesModel(LoadedModel):
    def predict(self, arrays: Sequence[np.ndarray], conf: float) -> list[Prediction]:
        self.predict_calls += 1
        return [_fixed(array, conf, len(self.class_names)) for array in arrays]

    def results(self, arrays: Sequence[np.ndarray], conf: float) -> list[Any]:
        raise NotImplementedError("the fixed-boxes model has no ultralytics results")


def _fixed(array: np.ndarray, conf: float, classes: int) -> Prediction:
    height, width = array.shape[:2]
    keep = CONFIDENCES >= conf
    boxes = BOXES[keep] * np.array([width, height, width, height], dtype=np.float64)
    class_ids = np.arange(len(BOXES), dtype=np.int64)[keep] % max(1, classes)
    return Prediction(boxes=boxes, confidences=CONFIDENCES[keep].copy(), class_ids=class_ids)


def open_fixed(model_version_id: int, input_size: int, class_names: Sequence[str]) -> LoadedModel:
    return FixedBoxesModel(
        model_version_id=model_version_id,
        yolo=None,
        input_size=input_size,
        class_names=list(class_names),
        device="none",
        threads=None,
        backend="fixed-boxes",  # what the load log, the backend metric and timings then name
        runtime="fixed boxes (bench only)",
    )
