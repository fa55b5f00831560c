"""Decode the first frame of an opened image into an 8-bit RGB array, whatever its pixel mode.

Pillow is the one decoder: one path for every format and mode (Adobe CMYK, 16-bit, palettes,
alpha, frames, EXIF), failures that say what went wrong (cv2.imdecode returns only None, so
"truncated" and "corrupt" could not be told apart), quantization tables from the same open file,
and `draft()`, the same DCT-domain downscaling as OpenCV's IMREAD_REDUCED_*, for big JPEGs.
"""

from __future__ import annotations

import math
import struct

import cv2
import numpy as np
from PIL import ExifTags, Image

from .errors import decoder_errors, quiet_decoder_warnings

# Transparent pixels are composited over the grey YOLO pads letterboxes with: the detector has
# learned it means "nothing here". White would invent a bright, overexposed-looking region (and
# reject an almost transparent upload as too_bright); black would invent dark edges.
NEUTRAL_BACKGROUND = 114

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})

# What Pillow's EXIF parser raises on malformed tags.
_EXIF_ERRORS = (OSError, ValueError, SyntaxError, struct.error, KeyError, TypeError, IndexError)


def _reduce_on_decode(image: Image.Image, target_size: int) -> None:
    # Ask the JPEG decoder for 1/2, 1/4 or 1/8 scale, never below the size we resize to.
    # Other formats ignore draft().
    width, height = image.size
    ratio = target_size / max(width, height)
    if ratio <= 0.5:
        image.draft(image.mode, (math.ceil(width * ratio), math.ceil(height * ratio)))


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(gray), cv2.COLOR_GRAY2RGB)


def _sixteen_bit_to_rgb(image: Image.Image) -> np.ndarray:
    # Keep the high byte (65535 -> 255, 32768 -> 128), exactly what Pillow does itself for
    # 16-bit RGB PNGs, so grey and colour 16-bit files map alike. Pillow's own I;16 -> L clips.
    values = np.clip(np.asarray(image), 0, 65535).astype(np.uint32)
    return _gray_to_rgb((values >> 8).astype(np.uint8))


def _float_to_rgb(image: Image.Image) -> np.ndarray:
    # Float TIFFs come either as 0..1 or as 0..255; scale the former.
    values = np.nan_to_num(np.asarray(image, dtype=np.float64))
    if values.max(initial=0.0) <= 1.0:
        values = values * 255.0
    return _gray_to_rgb(np.clip(np.rint(values), 0, 255).astype(np.uint8))


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _composite(image: Image.Image) -> np.ndarray:
    rgba = np.asarray(image.convert("RGBA"))
    alpha = rgba[..., 3:].astype(np.uint16)
    mixed = rgba[..., :3] * alpha + NEUTRAL_BACKGROUND * (255 - alpha)
    return ((mixed + 127) // 255).astype(np.uint8)


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode == "RGB":
        return np.asarray(image)
    if image.mode.startswith("I"):
        return _sixteen_bit_to_rgb(image)
    if image.mode == "F":
        return _float_to_rgb(image)
    if _has_alpha(image):
        return _composite(image)
    if image.mode in ("1", "L"):
        return _gray_to_rgb(np.asarray(image.convert("L")))
    # CMYK (already un-inverted by Pillow for Adobe JPEGs), YCbCr, LAB, HSV, palettes.
    return np.asarray(image.convert("RGB"))


def decode_rgb(image: Image.Image, target_size: int) -> np.ndarray:
    """First frame as HxWx3 uint8 RGB in stored orientation, possibly pre-reduced (JPEG)."""
    with decoder_errors():
        image.seek(0)
        _reduce_on_decode(image, target_size)
        image.load()
        return _to_rgb(image)


def read_orientation(image: Image.Image) -> int:
    """EXIF orientation 1-8; 1 when absent, invalid or unreadable."""
    try:
        with quiet_decoder_warnings():
            value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except _EXIF_ERRORS:  # broken EXIF is common on real photos; it must not reject the pixels
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
