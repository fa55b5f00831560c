"""Axis-aligned-in-z boxes (parcels, pallets, totes): 3D corners, visible faces, and drawing a
flat texture onto each visible face through the camera's perspective."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from lab.synthetic.camera import Camera
from lab.synthetic.geometry import (
    Box,
    Points,
    apply_homography,
    bounding_box,
    homography_between,
    rect_corners,
)
from lab.synthetic.textures import Colour, Image

# Corner order: bottom (-x-y, +x-y, +x+y, -x+y), then the same four on top.
_SIGNS = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)

# Face name -> (corner indices TL, TR, BR, BL seen from outside, local normal, texture axes):
# texture axes name which box dimensions span the texture's width and height.
FACES: dict[str, tuple[tuple[int, int, int, int], tuple[float, float, float], tuple[int, int]]] = {
    "top": ((7, 6, 5, 4), (0, 0, 1), (0, 1)),
    "front": ((4, 5, 1, 0), (0, -1, 0), (0, 2)),
    "back": ((6, 7, 3, 2), (0, 1, 0), (0, 2)),
    "right": ((5, 6, 2, 1), (1, 0, 0), (1, 2)),
    "left": ((7, 4, 0, 3), (-1, 0, 0), (1, 2)),
    "bottom": ((0, 1, 2, 3), (0, 0, -1), (0, 1)),
}


@dataclass(frozen=True)
class Solid:
    """A box standing on a horizontal surface: centre of its base, size (w, d, h), yaw."""

    base: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw: float

    def corners(self) -> NDArray[np.float64]:
        w, d, h = self.size
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        local = _SIGNS * np.array([w / 2, d / 2])
        xy = local @ np.array([[c, s], [-s, c]]) + np.array(self.base[:2])
        bottom = np.column_stack([xy, np.full(4, self.base[2])])
        top = np.column_stack([xy, np.full(4, self.base[2] + h)])
        return np.vstack([bottom, top])

    def normal(self, face: str) -> NDArray[np.float64]:
        nx, ny, nz = FACES[face][1]
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.array([nx * c - ny * s, nx * s + ny * c, nz])


@dataclass(frozen=True)
class Face:
    """A face as the camera sees it: projected quad (TL, TR, BR, BL) and its size in metres."""

    name: str
    indices: tuple[int, int, int, int]
    quad: Points
    metres: tuple[float, float]
    normal: NDArray[np.float64]

    @property
    def pixel_size(self) -> tuple[int, int]:
        """Texture size that roughly matches the face's on-screen size (no wasted texels)."""
        q = self.quad
        top, bottom = np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3])
        left, right = np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1])
        return (int(np.clip(max(top, bottom), 4, 1600)), int(np.clip(max(left, right), 4, 1600)))

    @property
    def area(self) -> float:
        return float(abs(cv2.contourArea(self.quad.astype(np.float32))))


def visible_faces(solid: Solid, camera: Camera) -> list[Face]:
    """Faces turned towards the camera; a convex box never hides one of these behind another."""
    corners = solid.corners()
    projected = camera.project(corners)
    faces = []
    for name, (indices, _, axes) in FACES.items():
        centre = corners[list(indices)].mean(axis=0)
        normal = solid.normal(name)
        if float(normal @ (camera.position - centre)) <= 1e-6:
            continue
        metres = (solid.size[axes[0]], solid.size[axes[1]])
        faces.append(Face(name, indices, projected[list(indices)], metres, normal))
    return [face for face in faces if face.area > 1.0]


def silhouette(solid: Solid, camera: Camera) -> Points:
    """The outline of the whole box on screen: convex hull of its projected corners."""
    projected = camera.project(solid.corners()).astype(np.float32)
    return cv2.convexHull(projected).reshape(-1, 2).astype(np.float64)


def face_homography(face: Face, texture_size: tuple[int, int]) -> NDArray[np.float64]:
    return homography_between(rect_corners(0, 0, *texture_size), face.quad)


def map_to_screen(face: Face, texture_size: tuple[int, int], points: Points) -> Points:
    """Texture coordinates of something painted on a face -> where it lands on screen."""
    return apply_homography(face_homography(face, texture_size), points)


def draw_face(canvas: Image, face: Face, texture: Image) -> None:
    """Warp `texture` onto the face's quad in place, anti-aliased at the quad's edges."""
    roi = _roi(face.quad, canvas.shape[1], canvas.shape[0])
    if roi is None:
        return
    x0, y0, x1, y1 = roi
    size = (texture.shape[1], texture.shape[0])
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], float)
    matrix = shift @ face_homography(face, size)
    warped = cv2.warpPerspective(
        texture,
        matrix,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    alpha = polygon_mask(face.quad - [x0, y0], x1 - x0, y1 - y0)
    region = canvas[y0:y1, x0:x1]
    region += (warped - region) * alpha[..., None]


def polygon_mask(points: Points, width: int, height: int) -> NDArray[np.float32]:
    """Anti-aliased coverage in [0, 1] of a polygon in continuous coordinates."""
    mask = np.zeros((height, width), np.uint8)
    fixed = np.round((points - 0.5) * 16).astype(np.int32)  # 4 fractional bits
    cv2.fillPoly(mask, [fixed], 255, lineType=cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


def _roi(
    points: Points, width: int, height: int, margin: int = 1
) -> tuple[int, int, int, int] | None:
    """The integer pixel rectangle around `points` (plus margin), clipped to the canvas."""
    box = bounding_box(points)
    x0, y0 = max(int(np.floor(box.x1)) - margin, 0), max(int(np.floor(box.y1)) - margin, 0)
    x1 = min(int(np.ceil(box.x2)) + margin, width)
    y1 = min(int(np.ceil(box.y2)) + margin, height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def outline(canvas: Image, faces: list[Face], dark: Colour, light: Colour) -> None:
    """Dark silhouette, light creases between faces: how real box edges catch the light."""
    thickness = max(1, round(min(canvas.shape[:2]) / 700))
    for ends, shared in _edges(faces):
        line = np.round((ends - 0.5) * 16).astype(np.int32)
        colour = light if shared else dark
        cv2.line(canvas, tuple(line[0]), tuple(line[1]), colour, thickness, cv2.LINE_AA, 4)


def _edges(faces: list[Face]) -> list[tuple[Points, bool]]:
    """Each visible edge once, with whether two visible faces share it (a crease)."""
    seen: dict[tuple[int, int], Points] = {}
    count: dict[tuple[int, int], int] = {}
    for face in faces:
        for i in range(4):
            a, b = face.indices[i], face.indices[(i + 1) % 4]
            key = (min(a, b), max(a, b))
            seen[key] = np.array([face.quad[i], face.quad[(i + 1) % 4]])
            count[key] = count.get(key, 0) + 1
    return [(seen[key], count[key] > 1) for key in seen]


def screen_box(solid: Solid, camera: Camera) -> Box:
    return bounding_box(camera.project(solid.corners()))


FacePainter = Callable[[Face, tuple[int, int]], tuple[Image, list[tuple[int, Points]]]]


def lambert(normal: NDArray[np.float64], light: NDArray[np.float64]) -> float:
    """Brightness of a face: ambient fill plus diffuse light from one overhead direction."""
    return 0.5 + 0.6 * max(0.0, float(normal @ light))


def draw_solid(
    canvas: Image,
    solid: Solid,
    camera: Camera,
    light: NDArray[np.float64],
    painter: FacePainter,
    edges: tuple[Colour, Colour],
) -> list[tuple[int, Points]]:
    """Paint, shade and project every visible face; returns whatever the painter marked
    (class id, outline) mapped onto the screen."""
    faces = visible_faces(solid, camera)
    marks: list[tuple[int, Points]] = []
    for face in faces:
        size = face.pixel_size
        texture, found = painter(face, size)
        texture *= lambert(face.normal, light)
        draw_face(canvas, face, texture)
        marks += [(cls, map_to_screen(face, size, pts)) for cls, pts in found]
    outline(canvas, faces, *edges)
    return marks


def cast_shadow(
    canvas: Image, solid: Solid, camera: Camera, light: NDArray[np.float64], strength: float
) -> None:
    """A soft shadow on the surface the solid stands on, thrown away from the light."""
    corners = solid.corners()
    drop = corners - np.outer(corners[:, 2] - solid.base[2], light / max(light[2], 0.2))
    points = camera.project(np.vstack([corners[:4], drop[4:]])).astype(np.float32)
    hull = cv2.convexHull(points).reshape(-1, 2).astype(np.float64)
    sigma = max(1.0, min(canvas.shape[:2]) / 120)
    roi = _roi(hull, canvas.shape[1], canvas.shape[0], margin=int(3 * sigma) + 1)
    if roi is None:
        return
    x0, y0, x1, y1 = roi
    mask = cv2.GaussianBlur(polygon_mask(hull - [x0, y0], x1 - x0, y1 - y0), (0, 0), sigma)
    canvas[y0:y1, x0:x1] *= (1 - strength * mask)[..., None]
