"""Sizes, resizing, EXIF orientation, and mapping boxes back to the uploaded image."""

from __future__ import annotations

import cv2
import numpy as np

# Orientations 5-8 turn the stored image by a quarter, so width and height swap.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})


def fitted_size(width: int, height: int, target_size: int) -> tuple[int, int]:
    """Aspect-preserving size whose longest side is target_size, never larger than the input."""
    ratio = min(1.0, target_size / max(width, height))
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    # INTER_AREA averages the source pixels under each output pixel: no aliasing on shrink.
    if (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def oriented_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    return (height, width) if orientation in _QUARTER_TURNS else (width, height)


def orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation as Pillow's ImageOps.exif_transpose would (a view, no copy)."""
    transposed = array.transpose(1, 0, 2)
    views = {
        2: array[:, ::-1],
        3: array[::-1, ::-1],
        4: array[::-1],
        5: transposed,
        6: transposed[:, ::-1],
        7: transposed[::-1, ::-1],
        8: transposed[::-1],
    }
    return views.get(orientation, array)


def boxes_to_original(boxes: np.ndarray, scale: float, width: int, height: int) -> np.ndarray:
    """Nx4 xyxy boxes in array pixels -> original pixels, clipped to the image; float64."""
    original = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) / scale
    original[:, 0::2] = original[:, 0::2].clip(0, width)
    original[:, 1::2] = original[:, 1::2].clip(0, height)
    return original
