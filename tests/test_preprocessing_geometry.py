"""Sizing: aspect kept, longest side at the target, never upscaled, boxes mapped back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspection.preprocessing import PreprocessConfig, boxes_to_original, preprocess
from tests import images

CONFIG = PreprocessConfig()


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (720, 1280), (1000, 333), (2600, 1300)])
def test_longest_side_is_the_target_and_aspect_is_kept(width: int, height: int) -> None:
    result = preprocess(images.photo_jpeg(width, height), 640, CONFIG)
    array_height, array_width = result.array.shape[:2]
    assert max(array_width, array_height) == 640
    assert abs(array_width / array_height - width / height) < 0.01
    assert (result.width, result.height) == (width, height)
    assert result.scale == array_width / width
    assert result.array.dtype == np.uint8 and result.array.flags.c_contiguous


def test_reduced_jpeg_decoding_matches_a_full_decode() -> None:
    # 2600 -> 640 lets the decoder work at 1/4 scale; the result must look the same.
    data = images.photo_jpeg(2600, 1300)
    full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert full is not None
    expected = cv2.resize(full, (640, 320), interpolation=cv2.INTER_AREA)
    difference = np.abs(preprocess(data, 640, CONFIG).array.astype(int) - expected)
    assert difference.mean() < 2.0


def test_small_images_are_not_upscaled_and_lossless_pixels_survive() -> None:
    result = preprocess(images.photo_png(320, 240), 640, CONFIG)
    assert result.array.shape == (240, 320, 3)
    assert result.scale == 1.0
    assert (result.array == images.scene(320, 240)).all()


def test_boxes_map_back_and_clip_to_the_original() -> None:
    boxes = np.array([[10, 20, 110, 220], [600, -5, 700, 400]], dtype=np.float32)
    original = boxes_to_original(boxes, 0.5, 1280, 720)
    assert original.dtype == np.float64
    np.testing.assert_array_equal(original, [[20, 40, 220, 440], [1200, 0, 1280, 720]])


def test_no_boxes_map_to_an_empty_array() -> None:
    assert boxes_to_original(np.zeros((0, 4)), 0.5, 100, 100).shape == (0, 4)


def test_boxes_map_into_the_oriented_original() -> None:
    result = preprocess(images.exif_rotated_jpeg(6), 320, CONFIG)
    box = np.array([[0, 0, result.array.shape[1], result.array.shape[0]]])
    mapped = boxes_to_original(box, result.scale, result.width, result.height)
    np.testing.assert_array_equal(mapped, [[0, 0, 480, 640]])
