"""Damage painted onto a parcel face: tears, crushed corners and wet stains.

Each painter edits the face texture in place and returns the damaged outline in face
coordinates, so the annotation is exactly the painted shape once the face is projected."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from lab.synthetic.geometry import Points
from lab.synthetic.solids import polygon_mask
from lab.synthetic.textures import Image, as_image, value_noise

Painter = Callable[[np.random.Generator, Image], Points | None]


def tear(rng: np.random.Generator, image: Image) -> Points:
    """A ragged rip: dark interior showing flutes, a pale torn-paper rim."""
    height, width = image.shape[:2]
    short = min(width, height)
    length = rng.uniform(0.35, 0.7) * short
    thickness = rng.uniform(0.12, 0.25) * short
    polygon = _jagged_strip(rng, length, thickness, float(rng.uniform(0, np.pi)))
    polygon = _place(rng, polygon, width, height)
    alpha = polygon_mask(polygon, width, height)
    inside = _torn_interior(rng, height, width, image)
    image += (inside - image) * alpha[..., None]
    rim = tuple(float(c) for c in (image.mean(axis=(0, 1)) * 0.4 + 150))
    pts = np.round((polygon - 0.5) * 16).astype(np.int32)
    cv2.polylines(image, [pts], True, rim, max(1, short // 60), cv2.LINE_AA, shift=4)
    return polygon


def _jagged_strip(
    rng: np.random.Generator, length: float, thickness: float, angle: float
) -> Points:
    """A lens-shaped outline with saw-tooth edges, centred on the origin."""
    n = 14
    t = np.linspace(0, 1, n)
    half = thickness / 2 * np.sin(np.pi * t) ** 0.6 + 0.5
    upper = np.column_stack([t * length, half * rng.uniform(0.4, 1.3, n)])
    lower = np.column_stack([t * length, -half * rng.uniform(0.4, 1.3, n)])[::-1]
    points = np.vstack([upper, lower[1:-1]]) - [length / 2, 0]
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def _torn_interior(rng: np.random.Generator, height: int, width: int, image: Image) -> Image:
    """Exposed corrugation: a dark board colour with parallel flute ridges."""
    base = image.mean(axis=(0, 1)) * rng.uniform(0.22, 0.38)
    period = max(3.0, min(width, height) / rng.uniform(12, 25))
    cols = np.arange(width, dtype=np.float32)[None, :]
    ridges = 1.0 + 0.35 * np.sin(cols * 2 * np.pi / period) ** 2
    shade = ridges * (0.8 + 0.4 * value_noise(rng, height, width, 8.0))
    return (shade[..., None] * base.astype(np.float32)).astype(np.float32)


def crushed_corner(rng: np.random.Generator, image: Image) -> Points:
    """A dented corner: shading that deepens towards the corner, crumpled crease lines."""
    height, width = image.shape[:2]
    radius = rng.uniform(0.25, 0.45) * min(width, height)
    corner = int(rng.integers(0, 4))
    polygon = _corner_region(rng, radius, corner, width, height)
    alpha = polygon_mask(polygon, width, height)
    cx, cy = _corner_point(corner, width, height)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    closeness = 1 - np.clip(np.hypot(xs + 0.5 - cx, ys + 0.5 - cy) / radius, 0, 1)
    shade = 1 - alpha * (0.3 + 0.5 * closeness) * rng.uniform(0.85, 1.1)
    image *= shade[..., None]
    _creases(rng, image, (cx, cy), radius, int(rng.integers(4, 8)))
    return polygon


def _corner_point(corner: int, width: int, height: int) -> tuple[float, float]:
    return [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))][
        corner
    ]


def _corner_region(
    rng: np.random.Generator, radius: float, corner: int, width: int, height: int
) -> Points:
    """An irregular quarter disc hugging the chosen corner."""
    angles = np.linspace(0, np.pi / 2, 9)
    radii = radius * rng.uniform(0.75, 1.15, len(angles))
    arc = np.column_stack([np.cos(angles) * radii, np.sin(angles) * radii])
    points = np.vstack([[[0.0, 0.0]], arc])
    sx, sy = [(1, 1), (-1, 1), (-1, -1), (1, -1)][corner]
    cx, cy = _corner_point(corner, width, height)
    points = points * [sx, sy] + [cx, cy]
    return np.clip(points, 0, [width, height])


def _creases(
    rng: np.random.Generator,
    image: Image,
    corner: tuple[float, float],
    radius: float,
    count: int,
) -> None:
    """Folds in the crushed board: a dark line with a bright lip beside it."""
    thickness = max(1, int(radius / 25))
    for _ in range(count):
        a, b = rng.uniform(0, 2 * np.pi, 2)
        r1, r2 = rng.uniform(0.1, 0.8, 2) * radius
        p = (int(corner[0] + r1 * np.cos(a)), int(corner[1] + r1 * np.sin(a)))
        q = (int(corner[0] + r2 * np.cos(b)), int(corner[1] + r2 * np.sin(b)))
        lip = (p[0] + thickness, p[1] + thickness), (q[0] + thickness, q[1] + thickness)
        colour = image.mean(axis=(0, 1))
        cv2.line(image, *lip, tuple(float(c) for c in colour * 1.25), thickness, cv2.LINE_AA)
        cv2.line(image, p, q, tuple(float(c) for c in colour * 0.45), thickness, cv2.LINE_AA)


def wet_stain(rng: np.random.Generator, image: Image) -> Points | None:
    """Water damage: an irregular darker blotch with a darker tide line at its edge."""
    height, width = image.shape[:2]
    mask = _blob(rng, width, height)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None  # the face is too small for the blob to survive thresholding
    outline = max(contours, key=cv2.contourArea)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, [outline], -1, 255, -1)
    soft = cv2.GaussianBlur(filled.astype(np.float32) / 255, (0, 0), max(0.8, width / 150))
    rim = np.clip(soft * (1 - soft) * 4, 0, 1)
    strength = rng.uniform(0.3, 0.5)
    image *= (1 - strength * soft - 0.2 * rim)[..., None]
    return outline.reshape(-1, 2).astype(np.float64) + 0.5


def _blob(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A binary blob of overlapping ellipses roughened with noise, inside the face."""
    short = min(width, height)
    centre = rng.uniform(0.3, 0.7, 2) * [width, height]
    field = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(3, 7))):
        offset = rng.normal(0, 0.1 * short, 2)
        axes = rng.uniform(0.08, 0.2, 2) * short
        cx, cy = (centre + offset).astype(int)
        cv2.ellipse(
            field,
            (int(cx), int(cy)),
            (int(axes[0]) + 1, int(axes[1]) + 1),
            float(rng.uniform(0, 180)),
            0,
            360,
            1.0,
            -1,
        )
    field = as_image(cv2.GaussianBlur(field, (0, 0), max(1.0, short / 30)))
    field += 0.35 * (value_noise(rng, height, width, max(2.0, short / 10)) - 0.5)
    return (field > 0.5).astype(np.uint8) * 255


def _place(rng: np.random.Generator, polygon: Points, width: int, height: int) -> Points:
    """Move a shape centred on the origin to a random spot, kept on the face."""
    span = polygon.max(axis=0) - polygon.min(axis=0)
    low = span / 2 + 1
    high = np.maximum(np.array([width, height]) - span / 2 - 1, low)
    return np.clip(polygon + rng.uniform(low, high), 0, [width, height])


PAINTERS: dict[str, Painter] = {"tear": tear, "crush": crushed_corner, "wet": wet_stain}
