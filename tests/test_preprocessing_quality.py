"""Quality metrics and the flags that route doubtful photos to review."""

from __future__ import annotations

import io
from dataclasses import replace

import cv2
import pytest
from PIL import Image

from inspection.preprocessing import PreprocessConfig, preprocess
from tests import images

CONFIG = PreprocessConfig()
METRICS = {"blur", "brightness", "contrast", "overexposed", "underexposed"}


@pytest.mark.parametrize("factory", [images.photo_jpeg, images.photo_png])
def test_a_good_photo_raises_no_flags(factory: images.Factory) -> None:
    result = preprocess(factory(), 640, CONFIG)
    assert result.flags == []
    assert METRICS <= set(result.quality)


@pytest.mark.parametrize(
    ("factory", "flag"),
    [
        (images.dark_photo_jpeg, "too_dark"),
        (images.bright_photo_jpeg, "overexposed"),
        (images.blurry_photo_jpeg, "too_blurry"),
        (images.low_contrast_photo_jpeg, "low_contrast"),
        (images.heavy_compression_jpeg, "heavy_compression"),
    ],
)
def test_doubtful_photos_are_flagged(factory: images.Factory, flag: str) -> None:
    assert flag in preprocess(factory(), 640, CONFIG).flags


def test_dark_photo_is_usable_with_brightness_about_30() -> None:
    assert 20 < preprocess(images.dark_photo_jpeg(), 640, CONFIG).quality["brightness"] < 40


@pytest.mark.parametrize("quality", [90, 30])
def test_jpeg_quality_is_estimated_from_the_quantization_tables(quality: int) -> None:
    opencv = images.photo_jpeg(320, 240, quality=quality)
    pillow = images.pillow_bytes(Image.open(io.BytesIO(opencv)), "JPEG", quality=quality)
    for data in (opencv, pillow):
        assert abs(preprocess(data, 640, CONFIG).quality["jpeg_quality"] - quality) <= 10


def test_only_jpegs_get_a_jpeg_quality() -> None:
    assert "jpeg_quality" not in preprocess(images.photo_png(), 640, CONFIG).quality


def test_thresholds_come_from_the_config() -> None:
    strict = replace(CONFIG, blur_variance=1e9, min_jpeg_quality=95)
    assert preprocess(images.photo_jpeg(), 640, strict).flags == ["too_blurry", "heavy_compression"]


def test_lighting_normalisation_lifts_a_dark_photo_but_not_its_report() -> None:
    data = images.dark_photo_jpeg()
    plain = preprocess(data, 640, CONFIG)
    normalised = preprocess(data, 640, replace(CONFIG, normalize_lighting=True))
    assert normalised.quality == plain.quality and normalised.flags == plain.flags
    luma = [cv2.cvtColor(r.array, cv2.COLOR_BGR2GRAY) for r in (plain, normalised)]
    assert luma[1].std() > luma[0].std() * 1.5
    assert normalised.array.shape == plain.array.shape
