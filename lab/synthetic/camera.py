"""A pinhole camera above a warehouse: world z is up, the camera looks along +y, pitched down.

Every scene renders through one camera so floors, belts, racking and parcels share the same
perspective; that consistency is what makes the pictures read as photographs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lab.synthetic.geometry import Points


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    focal: float  # pixels
    pitch: float  # radians below the horizon
    elevation: float  # metres above the world origin

    @property
    def rotation(self) -> NDArray[np.float64]:
        """Rows are the camera's right, image-down and forward axes in world coordinates."""
        s, c = np.sin(self.pitch), np.cos(self.pitch)
        return np.array([[1.0, 0.0, 0.0], [0.0, -s, -c], [0.0, c, -s]])

    @property
    def position(self) -> NDArray[np.float64]:
        return np.array([0.0, 0.0, self.elevation])

    def to_camera(self, world: NDArray[np.float64]) -> NDArray[np.float64]:
        return (world - self.position) @ self.rotation.T

    def project(self, world: NDArray[np.float64]) -> Points:
        """World points (N, 3) to continuous pixel coordinates (N, 2); points must be in front."""
        cam = self.to_camera(world)
        depth = np.maximum(cam[:, 2:3], 1e-6)
        return cam[:, :2] * self.focal / depth + np.array([self.width, self.height]) / 2

    def ray(self, pixel: tuple[float, float]) -> NDArray[np.float64]:
        """World direction of the ray through a pixel."""
        x = (pixel[0] - self.width / 2) / self.focal
        y = (pixel[1] - self.height / 2) / self.focal
        return np.array([x, y, 1.0]) @ self.rotation

    def on_plane_z(self, pixel: tuple[float, float], z: float) -> NDArray[np.float64] | None:
        """Where the ray through `pixel` meets the horizontal plane at height z (None: never)."""
        direction = self.ray(pixel)
        if abs(direction[2]) < 1e-9:
            return None
        t = (z - self.elevation) / direction[2]
        return self.position + t * direction if t > 0 else None

    def on_plane_y(self, pixel: tuple[float, float], y: float) -> NDArray[np.float64] | None:
        """Where the ray through `pixel` meets the vertical plane y = const facing the camera."""
        direction = self.ray(pixel)
        if direction[1] <= 1e-9:
            return None
        return self.position + (y / direction[1]) * direction

    @property
    def long_side(self) -> int:
        return max(self.width, self.height)

    def corners(self) -> list[tuple[float, float]]:
        w, h = float(self.width), float(self.height)
        return [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]

    def is_in_front(self, world: NDArray[np.float64], margin: float = 0.05) -> bool:
        return bool((self.to_camera(world)[:, 2] > margin).all())
