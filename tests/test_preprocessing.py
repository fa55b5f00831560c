"""Uploads the preprocessing layer refuses: every reason code, cheaply and without crashing."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from PIL import ImageFile

from inspection.preprocessing import (
    ImageHeader,
    ImageRejected,
    PreprocessConfig,
    inspect_header,
    preprocess,
)
from tests import images

CONFIG = PreprocessConfig()


def rejection(data: bytes, config: PreprocessConfig = CONFIG) -> str:
    with pytest.raises(ImageRejected) as caught:
        preprocess(data, 640, config)
    assert caught.value.detail
    return caught.value.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (images.empty_file(), "empty_file"),
        (images.non_image(), "not_an_image"),
        (b"\x00" * 300, "not_an_image"),
        (images.svg_image(), "unsupported_format"),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "unsupported_format"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "unsupported_format"),
        (images.decompression_bomb_png(), "too_many_pixels"),
        (images.tiny_image_png(), "too_small"),
        (images.corrupt_jpeg(), "corrupt"),
        (images.truncated_jpeg(), "truncated"),
        (images.black_photo_jpeg(), "too_dark"),
        (images.white_photo_jpeg(), "too_bright"),
        (images.blank_png(), "blank"),
    ],
)
def test_rejects_with_reason(data: bytes, reason: str) -> None:
    assert rejection(data) == reason


def test_jpeg_with_garbage_after_its_header_is_corrupt() -> None:
    start = images.photo_jpeg(64, 64)[:20]  # SOI + JFIF APP0
    garbage = np.random.default_rng(1).integers(0, 255, 2000, dtype=np.uint8).tobytes()
    assert rejection(start + garbage) == "corrupt"


def test_truncated_png_is_truncated() -> None:
    data = images.photo_png()
    assert rejection(data[: len(data) * 2 // 3]) == "truncated"


def test_format_outside_the_allowlist_is_unsupported() -> None:
    jpeg_only = PreprocessConfig(allowed_formats=frozenset({"JPEG"}))
    assert rejection(images.photo_png(), jpeg_only) == "unsupported_format"
    assert rejection(images.animated_gif(), jpeg_only) == "unsupported_format"


def test_pixel_limit_comes_from_config() -> None:
    small_limit = PreprocessConfig(max_pixels=100 * 100)
    assert rejection(images.photo_png(640, 480), small_limit) == "too_many_pixels"
    assert rejection(images.photo_png(640, 480), PreprocessConfig(min_side=500)) == "too_small"


def test_inspect_header_reads_format_size_and_multi_frame() -> None:
    photo = ImageHeader("JPEG", 800, 600, multi_frame=False)
    assert inspect_header(images.photo_jpeg(800, 600), CONFIG) == photo
    animated = ImageHeader("GIF", 128, 96, multi_frame=True)
    assert inspect_header(images.animated_gif(3), CONFIG) == animated
    # Stored size, before EXIF orientation.
    assert inspect_header(images.exif_rotated_jpeg(6), CONFIG) == ImageHeader("JPEG", 640, 480)


def test_refusing_multi_frame_files_is_a_setting() -> None:
    refuse = PreprocessConfig(refuse_multi_frame=True)
    assert rejection(images.animated_gif(3), refuse) == "multi_frame"
    assert rejection(images.multi_frame_image("TIFF", 2), refuse) == "multi_frame"
    assert inspect_header(images.photo_jpeg(800, 600), refuse).multi_frame is False


def test_a_refusal_after_the_header_keeps_what_was_read() -> None:
    with pytest.raises(ImageRejected) as caught:
        inspect_header(images.photo_png(640, 480), PreprocessConfig(min_side=500))
    assert caught.value.header == ImageHeader("PNG", 640, 480)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (images.empty_file(), "empty_file"),
        (images.non_image(), "not_an_image"),
        (images.svg_image(), "unsupported_format"),
        (images.tiny_image_png(), "too_small"),
    ],
)
def test_inspect_header_rejects_without_decoding(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        inspect_header(data, CONFIG)
    assert caught.value.reason == reason


def _refuse_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixel data must not be decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.parametrize("side", [40_000, 8_000])  # beyond Pillow's own bomb limit; only ours
def test_decompression_bomb_is_refused_fast_without_decoding(
    side: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = images.decompression_bomb_png(side)
    assert len(bomb) < 4096
    inspect_header(images.photo_png(), CONFIG)  # warm up: Pillow loads its plugins once
    _refuse_decoding(monkeypatch)
    for check in (inspect_header, lambda data, config: preprocess(data, 640, config)):
        started = time.perf_counter()
        with pytest.raises(ImageRejected) as caught:
            check(bomb, CONFIG)
        assert time.perf_counter() - started < 0.05
        assert caught.value.reason == "too_many_pixels"


def test_pillow_bomb_warning_is_not_emitted() -> None:
    # 100 M pixels: above Pillow's warning threshold (89 M), below its error (179 M).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert rejection(images.decompression_bomb_png(10_000)) == "too_many_pixels"
    assert caught == []


@pytest.mark.parametrize(
    "factory", [images.photo_jpeg, images.photo_png, images.animated_gif, images.cmyk_jpeg]
)
def test_damaged_files_raise_only_image_rejected(factory: images.Factory) -> None:
    original = factory()
    rng = np.random.default_rng(7)
    for _ in range(25):
        damaged = np.frombuffer(original, np.uint8).copy()
        damaged[rng.integers(0, damaged.size, 8)] = rng.integers(0, 256, 8)
        cut = int(rng.integers(1, damaged.size))
        for data in (damaged.tobytes(), original[:cut]):
            try:
                preprocess(data, 320, CONFIG)
            except ImageRejected:
                pass


def test_importing_the_package_does_not_import_django() -> None:
    code = "import sys, inspection.preprocessing; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_config_from_settings(settings: object) -> None:
    settings.ALLOWED_IMAGE_FORMATS = ["jpeg", "png"]  # type: ignore[attr-defined]
    settings.QUALITY_BLUR_VARIANCE = 75.0  # type: ignore[attr-defined]
    config = PreprocessConfig.from_settings()
    assert config.allowed_formats == frozenset({"JPEG", "PNG"})
    assert config.blur_variance == 75.0
    assert config.max_pixels == 50_000_000
