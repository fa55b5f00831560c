"""Stages: a camera, the background it sees (floor, conveyor or racking) and the surfaces
parcels may stand on. Backgrounds are painted in metric texture space and projected, so they
carry the same perspective as the parcels placed on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np
from numpy.typing import NDArray

from lab.synthetic import surfaces
from lab.synthetic.camera import Camera
from lab.synthetic.textures import Image, as_image

SCENE_KINDS = ("conveyor", "floor", "shelves")
_MAX_TEXTURE = 2.0  # texture side, in multiples of the image's long side


@dataclass(frozen=True)
class Support:
    """A horizontal surface parcels can stand on: height, footprint limits, typical yaw."""

    z: float
    region: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max (metres)
    yaw_mean: float
    yaw_spread: float  # radians; >= pi means any orientation
    max_height: float
    flush: bool = False  # push parcels back against y_min (a rack's front face)

    def holds(self, footprint: NDArray[np.float64]) -> bool:
        x0, x1, y0, y1 = self.region
        xs, ys = footprint[:, 0], footprint[:, 1]
        return bool((xs >= x0).all() and (xs <= x1).all() and (ys >= y0).all() and (ys <= y1).all())


@dataclass(frozen=True)
class Stage:
    kind: str
    camera: Camera
    image: Image
    supports: list[Support]
    clutter: bool  # whether pallets and totes belong here


def build_stage(rng: np.random.Generator, kind: str, width: int, height: int) -> Stage:
    builders: dict[str, Callable[[np.random.Generator, int, int], Stage]] = {
        "conveyor": conveyor_stage,
        "floor": floor_stage,
        "shelves": shelves_stage,
    }
    return builders[kind](rng, width, height)


def make_camera(
    rng: np.random.Generator,
    width: int,
    height: int,
    pitch_deg: tuple[float, float],
    elevation: tuple[float, float],
) -> Camera:
    focal = max(width, height) * float(rng.uniform(0.8, 1.25))
    pitch = np.radians(rng.uniform(*pitch_deg))
    return Camera(width, height, focal, float(pitch), float(rng.uniform(*elevation)))


def looking_down(
    rng: np.random.Generator,
    width: int,
    height: int,
    pitch_deg: tuple[float, float],
    elevation: tuple[float, float],
) -> Camera:
    """A camera whose whole frame sees the ground: the horizon stays above the top edge."""
    camera = make_camera(rng, width, height, pitch_deg, elevation)
    half_fov = np.arctan(height / 2 / camera.focal)
    pitch = max(camera.pitch, float(half_fov + np.radians(14)))
    return Camera(width, height, camera.focal, min(pitch, np.radians(89.0)), camera.elevation)


def ground_extent(camera: Camera, z: float = 0.0) -> tuple[float, float, float, float]:
    points = [camera.on_plane_z(corner, z) for corner in camera.corners()]
    xs = [p[0] for p in points if p is not None]
    ys = [p[1] for p in points if p is not None]
    return (min(xs) - 0.5, max(xs) + 0.5, min(ys) - 0.5, max(ys) + 0.5)


def texture_scale(camera: Camera, extent: tuple[float, float], distance: float) -> float:
    """Texels per metre: about one texel per pixel at `distance`, capped in total size."""
    ppm = camera.focal / max(distance, 0.1)
    cap = _MAX_TEXTURE * max(camera.width, camera.height) / max(extent)
    return float(min(ppm, cap))


def render_plane(
    camera: Camera,
    texture: Image,
    origin: NDArray[np.float64],
    u: NDArray[np.float64],
    v: NDArray[np.float64],
) -> Image:
    """Project a planar texture (texel (s, t) sits at origin + s*u + t*v) into the frame."""
    rotation = camera.rotation
    k = np.array(
        [[camera.focal, 0, camera.width / 2], [0, camera.focal, camera.height / 2], [0, 0, 1]]
    )
    columns = np.column_stack([rotation @ u, rotation @ v, rotation @ (origin - camera.position)])
    to_index = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
    matrix = to_index @ k @ columns
    return as_image(
        cv2.warpPerspective(
            texture,
            matrix,
            (camera.width, camera.height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
    )


def ground_stage_parts(
    rng: np.random.Generator, camera: Camera
) -> tuple[Image, float, tuple[float, float, float, float]]:
    """A concrete floor texture covering what the camera sees, its scale and world extent."""
    extent = ground_extent(camera)
    bottom = camera.on_plane_z((camera.width / 2, float(camera.height)), 0.0)
    distance = float(np.linalg.norm(bottom - camera.position)) if bottom is not None else 2.0
    ppm = texture_scale(camera, (extent[1] - extent[0], extent[3] - extent[2]), distance)
    size = (int((extent[1] - extent[0]) * ppm) + 1, int((extent[3] - extent[2]) * ppm) + 1)
    return surfaces.concrete(rng, size[1], size[0], ppm), ppm, extent


def project_ground(
    camera: Camera, texture: Image, ppm: float, extent: tuple[float, float, float, float]
) -> Image:
    origin = np.array([extent[0], extent[3], 0.0])  # texture row 0 is the far edge
    return render_plane(
        camera, texture, origin, np.array([1 / ppm, 0, 0]), np.array([0, -1 / ppm, 0])
    )


def floor_stage(rng: np.random.Generator, width: int, height: int) -> Stage:
    camera = looking_down(rng, width, height, (35, 80), (1.4, 2.8))
    texture, ppm, extent = ground_stage_parts(rng, camera)
    support = Support(0.0, extent, 0.0, np.pi, 0.7)
    return Stage("floor", camera, project_ground(camera, texture, ppm, extent), [support], True)


def conveyor_stage(rng: np.random.Generator, width: int, height: int) -> Stage:
    camera = looking_down(rng, width, height, (45, 88), (1.0, 2.0))
    texture, ppm, extent = ground_stage_parts(rng, camera)
    texture *= 0.8  # the floor sits below and beside the belt, in its shadow
    centre = camera.on_plane_z((width / 2, height / 2), 0.0)
    assert centre is not None
    along_y = rng.random() < 0.6
    belt_width = float(rng.uniform(0.55, 1.0))
    offset = float(rng.uniform(-0.15, 0.15))
    axis_centre = (centre[0] if along_y else centre[1]) + offset
    _lay_conveyor(rng, texture, ppm, extent, along_y, axis_centre, belt_width)
    region = _belt_region(extent, along_y, axis_centre, belt_width)
    support = Support(0.0, region, 0.0 if along_y else np.pi / 2, 0.25, 0.6)
    return Stage("conveyor", camera, project_ground(camera, texture, ppm, extent), [support], False)


def _belt_region(
    extent: tuple[float, float, float, float], along_y: bool, centre: float, belt_width: float
) -> tuple[float, float, float, float]:
    lo, hi = centre - belt_width / 2, centre + belt_width / 2
    return (lo, hi, extent[2], extent[3]) if along_y else (extent[0], extent[1], lo, hi)


def _lay_conveyor(
    rng: np.random.Generator,
    texture: Image,
    ppm: float,
    extent: tuple[float, float, float, float],
    along_y: bool,
    centre: float,
    belt_width: float,
) -> None:
    """Paint belt (or rollers) and side rails into the floor texture, travel along one axis."""
    rows, cols = texture.shape[:2]
    length = rows if along_y else cols
    rail_w = max(2, int(rng.uniform(0.05, 0.1) * ppm))
    surface_w = max(2, int(belt_width * ppm))
    painter = surfaces.rollers if rng.random() < 0.4 else surfaces.belt
    parts = [
        surfaces.rail(rng, length, rail_w),
        painter(rng, length, surface_w, ppm),
        surfaces.rail(rng, length, rail_w),
    ]
    strip = np.concatenate(parts, axis=0)
    start = int(((centre - extent[0]) if along_y else (extent[3] - centre)) * ppm)
    start -= surface_w // 2 + rail_w
    if along_y:
        _paste(texture, np.transpose(strip, (1, 0, 2)), 0, start)
    else:
        _paste(texture, strip, start, 0)


def _paste(texture: Image, patch: Image, top: int, left: int) -> None:
    t0, l0 = max(top, 0), max(left, 0)
    t1 = min(top + patch.shape[0], texture.shape[0])
    l1 = min(left + patch.shape[1], texture.shape[1])
    if t1 > t0 and l1 > l0:
        texture[t0:t1, l0:l1] = patch[t0 - top : t1 - top, l0 - left : l1 - left]


def shelves_stage(rng: np.random.Generator, width: int, height: int) -> Stage:
    camera = make_camera(rng, width, height, (-4, 16), (1.0, 2.2))
    rack_y = float(rng.uniform(2.0, 3.6))
    points = [camera.on_plane_y(corner, rack_y) for corner in camera.corners()]
    xs = [p[0] for p in points if p is not None]
    zs = [p[2] for p in points if p is not None]
    x0, x1, z0, z1 = min(xs) - 0.3, max(xs) + 0.3, min(zs) - 0.3, max(zs) + 0.3
    ppm = texture_scale(camera, (x1 - x0, z1 - z0), rack_y)
    levels, bays = _rack_layout(rng, (x0, x1), (z0, z1))
    size = (int((x1 - x0) * ppm) + 1, int((z1 - z0) * ppm) + 1)
    beam_rows = [(z1 - z) * ppm for z in levels]
    upright_cols = [(x - x0) * ppm for x in bays]
    texture = surfaces.racking(rng, size[1], size[0], ppm, beam_rows, upright_cols)
    _floor_below(rng, texture, ppm, int(z1 * ppm))
    image = render_plane(
        camera,
        texture,
        np.array([x0, rack_y, z1]),
        np.array([1 / ppm, 0, 0]),
        np.array([0, 0, -1 / ppm]),
    )
    supports = _shelf_supports(levels, bays, rack_y)
    return Stage("shelves", camera, image, supports, False)


def _rack_layout(
    rng: np.random.Generator, xs: tuple[float, float], zs: tuple[float, float]
) -> tuple[list[float], list[float]]:
    """Beam-top heights and upright positions covering the visible part of the rack."""
    spacing = float(rng.uniform(1.1, 1.6))
    levels = list(np.arange(rng.uniform(0.1, 0.2), zs[1] + spacing, spacing))
    bay = float(rng.uniform(1.8, 2.7))
    bays = list(np.arange(xs[0] - rng.uniform(0, bay), xs[1] + bay, bay))
    return [float(z) for z in levels], [float(x) for x in bays]


def _floor_below(rng: np.random.Generator, texture: Image, ppm: float, row: int) -> None:
    """Below z = 0 the rack plane shows the floor in front of it."""
    if 0 <= row < texture.shape[0]:
        rows = texture.shape[0] - row
        texture[row:] = surfaces.concrete(rng, rows, texture.shape[1], ppm) * 0.85


def _shelf_supports(levels: list[float], bays: list[float], rack_y: float) -> list[Support]:
    spacing = levels[1] - levels[0] if len(levels) > 1 else 1.4
    return [
        Support(
            z,
            (left + 0.06, right - 0.06, rack_y, rack_y + 1.0),
            0.0,
            0.08,
            spacing - 0.3,
            flush=True,
        )
        for z in levels
        for left, right in pairwise(bays)
    ]
