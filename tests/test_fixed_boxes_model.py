"""The bench's model that costs nothing: used only when INFERENCE_BENCH_FIXED_BOXES is set, and
then for every version, with the same boxes on every image, scaled to it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from inspection.inference import runtime
from inspection.inference.fixed_boxes import FixedBoxesModel
from inspection.models import ModelVersion


@pytest.mark.django_db
def test_the_setting_swaps_any_model_for_fixed_boxes(
    dev_model: ModelVersion, settings: Any
) -> None:
    settings.INFERENCE_BENCH_FIXED_BOXES = True
    loaded = runtime.load(dev_model)
    assert isinstance(loaded, FixedBoxesModel) and loaded.yolo is None
    wide, tall = np.zeros((360, 640, 3), np.uint8), np.zeros((640, 480, 3), np.uint8)
    first, second = loaded.predict([wide, tall], conf=0.25)
    assert first.boxes.tolist() == [[64.0, 36.0, 320.0, 216.0], [352.0, 72.0, 576.0, 288.0]]
    assert second.boxes[0].tolist() == [48.0, 64.0, 240.0, 384.0]
    assert first.class_ids.tolist() == [0, 1 % len(dev_model.class_names)]
    (confident,) = loaded.predict([wide], conf=0.5)
    assert confident.confidences.tolist() == [0.91]


@pytest.mark.django_db
def test_without_the_setting_the_real_model_runs(dev_model: ModelVersion, settings: Any) -> None:
    settings.INFERENCE_BENCH_FIXED_BOXES = False
    settings.INFERENCE_DEVICE = "cpu"
    assert not isinstance(runtime.load(dev_model), FixedBoxesModel)
