"""The committed default model: it registers through the worker loader with our class names and
finds the parcel in a clean demo photo, fed exactly as the workers feed it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from inspection.inference import loader, registry, runtime
from inspection.preprocessing import PreprocessConfig, preprocess
from inspection.services.default_model import calibrated_thresholds, evaluation_path

WEIGHTS = Path(settings.BASE_DIR) / "models" / "default.pt"
SAMPLE = Path(settings.BASE_DIR) / "samples" / "demo" / "01-clean-conveyor.jpg"

pytestmark = pytest.mark.django_db


def test_default_weights_are_small_and_calibrated() -> None:
    assert WEIGHTS.stat().st_size < 10_000_000
    assert set(calibrated_thresholds(WEIGHTS)) == {"parcel", "label", "damage"}
    # Calibrated with the suppression the workers apply: other NMS, other thresholds.
    calibrated_with = json.loads(evaluation_path(WEIGHTS).read_text())["nms_iou"]
    assert calibrated_with == settings.INFERENCE_NMS_IOU


@pytest.mark.slow  # over a second on 2 cores (pytest.ini)
def test_workers_suppress_overlapping_boxes_at_the_nms_setting(settings: Any) -> None:
    """A looser NMS keeps the overlapping duplicates a stricter one drops."""
    settings.INFERENCE_DEVICE = "cpu"
    model = registry.register_model(WEIGHTS, "default", "test")
    loaded = runtime.get_model(model)
    array = preprocess(SAMPLE.read_bytes(), model.input_size, PreprocessConfig()).array
    counts = {}
    for iou in (0.95, 0.5, 0.3):
        settings.INFERENCE_NMS_IOU = iou
        counts[iou] = len(loaded.predict([array], conf=0.01)[0].confidences)
    assert counts[0.95] > counts[0.5] >= counts[0.3] > 0


def test_default_model_registers_with_our_classes() -> None:
    model = registry.register_model(WEIGHTS, "default", "test")
    assert model.class_names == ["parcel", "label", "damage"]
    # Registered at the size its thresholds were calibrated at (the size it was trained at).
    calibrated_at = json.loads(evaluation_path(WEIGHTS).read_text())["imgsz"]
    assert model.input_size == calibrated_at == 640


def test_default_model_finds_the_parcel_in_a_clean_demo_photo() -> None:
    model = registry.register_model(WEIGHTS, "default", "test")
    yolo = loader.load_yolo(model.file_path)
    array = preprocess(SAMPLE.read_bytes(), model.input_size, PreprocessConfig()).array
    result = yolo.predict([array], imgsz=model.input_size, conf=0.05, verbose=False)[0]
    threshold = calibrated_thresholds(WEIGHTS)["parcel"]
    parcels = [
        float(c) for c, k in zip(result.boxes.conf, result.boxes.cls, strict=True) if int(k) == 0
    ]
    assert max(parcels, default=0.0) >= threshold
