"""Same image, same result: an image's boxes do not depend on which images share its inference
batch, or on whether it was retried alone. The bundled samples (landscape and portrait, so a
batch mixes shapes) through the default model, all in one batch and each alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from inspection.inference.loaded import open_model
from inspection.preprocessing import ImageRejected, PreprocessConfig, preprocess
from tests.workers import ROOT

SAMPLES = ROOT / "samples" / "demo"
MODEL = ROOT / "models" / "default.pt"
# Float noise between one forward pass of N images and N passes of one; far below what could
# move a box a pixel or a confidence across a threshold's second decimal.
BOX_PX, CONFIDENCE = 0.01, 1e-4


def sample_arrays() -> list[np.ndarray]:
    arrays = []
    for path in sorted(SAMPLES.glob("*.jpg")):
        try:
            arrays.append(preprocess(path.read_bytes(), 640, PreprocessConfig()).array)
        except ImageRejected:
            continue  # broken files and the nearly black one never reach the model
    return arrays


@pytest.fixture(scope="module")
def model() -> Any:
    return open_model(MODEL)


@pytest.mark.slow
def test_a_batch_and_each_image_alone_give_the_same_boxes(model: Any) -> None:
    arrays = sample_arrays()
    assert len({a.shape for a in arrays}) > 1  # the batch really mixes shapes
    together = model.predict(arrays, conf=0.1)
    for array, batched in zip(arrays, together, strict=True):
        (alone,) = model.predict([array], conf=0.1)
        assert len(alone.confidences) == len(batched.confidences)
        np.testing.assert_allclose(alone.boxes, batched.boxes, atol=BOX_PX)
        np.testing.assert_allclose(alone.confidences, batched.confidences, atol=CONFIDENCE)
        np.testing.assert_array_equal(alone.class_ids, batched.class_ids)


def test_order_and_company_do_not_matter(model: Any) -> None:
    arrays = sample_arrays()[:6]
    forward = model.predict(arrays, conf=0.1)
    backward = model.predict(arrays[::-1], conf=0.1)[::-1]
    for a, b in zip(forward, backward, strict=True):
        np.testing.assert_allclose(a.boxes, b.boxes, atol=BOX_PX)
        np.testing.assert_allclose(a.confidences, b.confidences, atol=CONFIDENCE)
