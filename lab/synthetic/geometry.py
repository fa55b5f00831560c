"""Points, polygons and boxes in continuous pixel coordinates.

Convention used throughout the package: pixel (col, row) covers [col, col+1) x [row, row+1), so an
image of width W spans x in [0, W]. OpenCV warps address pixel centres by integer index, hence the
half-pixel shifts in `apply_homography` and `apply_affine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

Points = NDArray[np.float64]  # shape (N, 2): x, y


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels (x1 < x2, y1 < y2)."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def clip(self, width: int, height: int) -> Box:
        return Box(
            min(max(self.x1, 0.0), width),
            min(max(self.y1, 0.0), height),
            min(max(self.x2, 0.0), width),
            min(max(self.y2, 0.0), height),
        )

    def intersection(self, other: Box) -> float:
        w = min(self.x2, other.x2) - max(self.x1, other.x1)
        h = min(self.y2, other.y2) - max(self.y1, other.y1)
        return max(0.0, w) * max(0.0, h)

    def yolo(self, width: int, height: int) -> tuple[float, float, float, float]:
        """Normalised centre x, centre y, width, height."""
        return (
            (self.x1 + self.x2) / 2 / width,
            (self.y1 + self.y2) / 2 / height,
            self.width / width,
            self.height / height,
        )


def bounding_box(points: Points) -> Box:
    x1, y1 = points.min(axis=0)
    x2, y2 = points.max(axis=0)
    return Box(float(x1), float(y1), float(x2), float(y2))


def apply_homography(matrix: NDArray[np.float64], points: Points) -> Points:
    """Map continuous coordinates through a homography built on pixel-index coordinates."""
    homogeneous = np.column_stack([points - 0.5, np.ones(len(points))]) @ matrix.T
    return homogeneous[:, :2] / homogeneous[:, 2:3] + 0.5


def apply_affine(matrix: NDArray[Any], points: Points) -> Points:
    """Map continuous coordinates through a 2x3 affine built on pixel-index coordinates."""
    return np.column_stack([points - 0.5, np.ones(len(points))]) @ matrix.T + 0.5


def rect_corners(x: float, y: float, width: float, height: float) -> Points:
    """Corners clockwise from top-left, matching the order OpenCV warps expect."""
    return np.array([[x, y], [x + width, y], [x + width, y + height], [x, y + height]], float)


def homography_between(source: Points, target: Points) -> NDArray[np.float64]:
    """Homography in pixel-index coordinates taking 4 continuous source corners to target."""
    src = (source - 0.5).astype(np.float32)
    dst = (target - 0.5).astype(np.float32)
    return cv2.getPerspectiveTransform(src, dst).astype(np.float64)
