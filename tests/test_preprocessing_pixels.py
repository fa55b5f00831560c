"""Pixel formats come out as the right 8-bit BGR colours, oriented as the camera meant."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from inspection.preprocessing import NEUTRAL_BACKGROUND, PreprocessConfig, preprocess
from tests import images

CONFIG = PreprocessConfig()


def bgr(rgb: tuple[int, ...]) -> list[int]:
    return list(rgb[::-1])


def band_centres(array: np.ndarray, bands: int) -> list[list[int]]:
    """The pixel at the middle of each vertical band, left to right."""
    height, width = array.shape[:2]
    return [array[height // 2, (2 * k + 1) * width // (2 * bands)].tolist() for k in range(bands)]


def pillow_mode(data: bytes) -> str:
    return Image.open(io.BytesIO(data)).mode


def test_adobe_cmyk_jpeg_colours() -> None:
    data = images.cmyk_jpeg()
    assert pillow_mode(data) == "CMYK" and b"Adobe" in data  # the inverted (Adobe APP14) kind
    red, blue = band_centres(preprocess(data, 640, CONFIG).array, 2)
    np.testing.assert_allclose(red, bgr((255, 0, 0)), atol=8)
    np.testing.assert_allclose(blue, bgr((0, 0, 255)), atol=8)


@pytest.mark.parametrize("channels", [1, 3])
def test_sixteen_bit_png_is_scaled_not_clipped(channels: int) -> None:
    data = images.sixteen_bit_png(channels)
    if channels == 1:
        assert pillow_mode(data) == "I;16"  # the mode Pillow itself clips when converting to L
    levels = band_centres(preprocess(data, 640, CONFIG).array, 3)
    assert levels == [[0, 0, 0], [128, 128, 128], [255, 255, 255]]


def test_grayscale_becomes_three_equal_channels() -> None:
    result = preprocess(images.grayscale_png(), 640, CONFIG)
    assert result.array.shape == (64, 256, 3)
    assert (result.array[..., 0] == result.array[..., 1]).all()
    assert (result.array[..., 1] == result.array[..., 2]).all()
    assert band_centres(result.array, 4) == [[g, g, g] for g in images.GREY_LEVELS]


def test_palette_colours_are_preserved() -> None:
    data = images.palette_png()
    assert pillow_mode(data) == "P"
    assert band_centres(preprocess(data, 640, CONFIG).array, 4) == [
        bgr(colour) for colour in images.PALETTE_COLOURS
    ]


def test_alpha_is_composited_over_neutral_grey() -> None:
    opaque, half, transparent = band_centres(preprocess(images.alpha_png(), 640, CONFIG).array, 3)
    assert opaque == bgr((255, 0, 0))
    mixed = round((255 * images.ALPHA_HALF + NEUTRAL_BACKGROUND * (255 - images.ALPHA_HALF)) / 255)
    assert half == [mixed] * 3
    assert transparent == [NEUTRAL_BACKGROUND] * 3  # the black under it does not show


@pytest.mark.parametrize("format", ["GIF", "TIFF", "WEBP", "MPO"])
def test_multi_frame_files_use_the_first_frame(format: str) -> None:
    result = preprocess(images.multi_frame_image(format, 3), 640, CONFIG)
    # An MPO's other frames are previews of the same shot: not flagged.
    assert (result.format, result.multi_frame) == (format, format != "MPO")
    first, white = band_centres(result.array, 2)
    np.testing.assert_allclose(first, bgr(images.GIF_FRAME_COLOURS[0]), atol=3)
    assert white == [255, 255, 255]


def test_exif_orientation_6_turns_landscape_into_portrait() -> None:
    result = preprocess(images.exif_rotated_jpeg(6), 640, CONFIG)
    assert (result.width, result.height) == (480, 640)
    assert result.array.shape == (640, 480, 3)
    # Rotated 90 degrees clockwise: stored top-left -> top-right, stored top-right -> bottom-right.
    np.testing.assert_allclose(result.array[20, -20], images.MARKER_RED, atol=12)
    np.testing.assert_allclose(result.array[-20, -20], images.MARKER_GREEN, atol=12)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(orientation: int) -> None:
    data = images.exif_rotated_jpeg(orientation)
    reference = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data)).convert("RGB")))
    result = preprocess(data, 640, CONFIG)
    assert (result.height, result.width) == reference.shape[:2]
    assert (result.array == reference[..., ::-1]).all()


def test_orientation_and_downscaling_together() -> None:
    result = preprocess(images.exif_rotated_jpeg(6), 320, CONFIG)
    assert result.array.shape == (320, 240, 3)
    assert (result.width, result.height, result.scale) == (480, 640, 0.5)
