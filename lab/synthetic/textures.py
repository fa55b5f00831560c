"""Procedural texture primitives: value noise, grain, gradients, colour tinting.

All images here are float32 BGR (or single-channel) on a 0..255 scale; conversion to uint8 happens
once, when the capture is encoded, so repeated shading does not accumulate rounding.
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
from cv2.typing import MatLike
from numpy.typing import NDArray

Image = NDArray[np.float32]
Colour = tuple[float, float, float]  # BGR, 0..255


def as_image(result: MatLike) -> Image:
    """An array as the float32 image it is: OpenCV results and NumPy arithmetic on float32
    images stay float32 (NumPy 2 does not widen for a Python float), which their stubs cannot
    say (an OpenCV result is an array of any dtype, float32 times a float is float64)."""
    return cast(Image, result)


def value_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> Image:
    """Smooth noise in [0, 1] whose features are about `cell` pixels across."""
    grid_h = max(2, int(height / max(cell, 1.0)) + 2)
    grid_w = max(2, int(width / max(cell, 1.0)) + 2)
    grid = rng.random((grid_h, grid_w), dtype=np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def fractal_noise(
    rng: np.random.Generator, height: int, width: int, cell: float, octaves: int = 4
) -> Image:
    """Several octaves of value noise, each half the size and weight of the last, in [0, 1]."""
    total = np.zeros((height, width), np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        weight = 0.5**octave
        total += weight * value_noise(rng, height, width, cell / 2**octave)
        weight_sum += weight
    return total / weight_sum


def grain(rng: np.random.Generator, height: int, width: int, sigma: float) -> Image:
    """Per-pixel Gaussian grain, zero mean."""
    return rng.normal(0.0, sigma, (height, width)).astype(np.float32)


def streaks(rng: np.random.Generator, height: int, width: int, length: float) -> Image:
    """Zero-mean noise stretched along x: brushed metal, belt wear, cardboard fibres."""
    noise = rng.normal(0.0, 1.0, (height, max(2, int(width / max(length, 1.0)) + 2)))
    return as_image(
        cv2.resize(noise.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    )


def linear_gradient(height: int, width: int, angle: float, low: float, high: float) -> Image:
    """A ramp from `low` to `high` across the image along direction `angle` (radians)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = xs * np.cos(angle) + ys * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return (low + (high - low) * t).astype(np.float32)


def radial_falloff(height: int, width: int, centre: tuple[float, float], radius: float) -> Image:
    """1 at `centre` falling smoothly to 0 at `radius` pixels: lamps, glare, vignetting."""
    ys, xs = np.ogrid[0:height, 0:width]
    d2 = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / max(radius, 1.0) ** 2
    return np.exp(-2.0 * d2).astype(np.float32)


def tint(shade: Image, colour: Colour) -> Image:
    """A colour image from a single-channel multiplier around 1."""
    return shade[..., None] * np.array(colour, np.float32)


def jitter_colour(rng: np.random.Generator, colour: Colour, spread: float) -> Colour:
    b, g, r = (float(np.clip(c + rng.normal(0, spread), 0, 255)) for c in colour)
    return (b, g, r)


def blend(base: Image, overlay: Image, alpha: Image) -> Image:
    """Alpha-composite `overlay` on `base`; alpha is (H, W) in [0, 1]."""
    a = alpha[..., None] if base.ndim == 3 else alpha
    return base * (1 - a) + overlay * a
