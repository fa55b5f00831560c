"""Apply capture problems to a rendered scene: blur, light, glare, noise and rotation (the one
problem that also moves the annotations). JPEG quality is applied when the image is encoded."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from lab.synthetic.geometry import Points, apply_affine
from lab.synthetic.problems import Param, Problem
from lab.synthetic.textures import Image, as_image, radial_falloff

Params = dict[str, Param]


def motion_blur(image: Image, params: Params, rng: np.random.Generator) -> Image:
    length = int(params["length"])
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), float(params["angle"]), 1)
    kernel = as_image(cv2.warpAffine(kernel, turn, (length, length)))
    return as_image(cv2.filter2D(image, -1, kernel / max(float(kernel.sum()), 1e-6)))


def focus_blur(image: Image, params: Params, rng: np.random.Generator) -> Image:
    return as_image(cv2.GaussianBlur(image, (0, 0), float(params["sigma"])))


def low_light(image: Image, params: Params, rng: np.random.Generator) -> Image:
    """Under-exposure: less signal, then sensor noise that is now large relative to it."""
    dark = image * float(params["gain"])
    grain = rng.normal(0, float(params["noise"]), image.shape[:2]).astype(np.float32)
    return dark + grain[..., None]


def glare(image: Image, params: Params, rng: np.random.Generator) -> Image:
    height, width = image.shape[:2]
    centre = (float(params["x"]), float(params["y"]))
    spot = radial_falloff(height, width, centre, float(params["radius"]))
    washed = image + (255 - image) * float(params["washout"])
    return washed + 255 * float(params["strength"]) * spot[..., None]


def noise(image: Image, params: Params, rng: np.random.Generator) -> Image:
    """Luma noise plus weaker per-channel chroma noise, as a small sensor produces."""
    sigma = float(params["sigma"])
    luma = rng.normal(0, sigma, image.shape[:2]).astype(np.float32)[..., None]
    chroma = rng.normal(0, sigma * 0.4, image.shape).astype(np.float32)
    return image + luma + chroma


PIXEL_EFFECTS: dict[str, Callable[[Image, Params, np.random.Generator], Image]] = {
    "motion_blur": motion_blur,
    "focus_blur": focus_blur,
    "low_light": low_light,
    "glare": glare,
    "noise": noise,
}


def apply_pixels(image: Image, problem: Problem, rng: np.random.Generator) -> Image:
    effect = PIXEL_EFFECTS.get(problem.name)
    return np.clip(effect(image, problem.params, rng), 0, 255) if effect else image


def rotate(image: Image, polygons: list[Points], params: Params) -> tuple[Image, list[Points]]:
    """Turn or tilt the frame; annotation outlines go through the same transform, and their
    boxes are recomputed from the moved points afterwards."""
    if params["kind"] == "rot90":
        return quarter_turns(image, polygons, int(params["turns"]))
    return tilt(image, polygons, float(params["angle"]))


def quarter_turns(image: Image, polygons: list[Points], turns: int) -> tuple[Image, list[Points]]:
    """Rotate clockwise by `turns` quarter turns (continuous coordinates, exact)."""
    for _ in range(turns % 4):
        height = image.shape[0]
        image = as_image(cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE))
        polygons = [np.column_stack([height - p[:, 1], p[:, 0]]) for p in polygons]
    return image, polygons


def tilt(image: Image, polygons: list[Points], angle: float) -> tuple[Image, list[Points]]:
    """A small camera roll. The frame is zoomed just enough that no empty corner shows, as if
    the sensor saw more of the scene; objects pushed off the edge are clipped later."""
    height, width = image.shape[:2]
    rad = np.radians(abs(angle))
    scale = np.cos(rad) + max(width / height, height / width) * np.sin(rad)
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, scale)
    turned = cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    return as_image(turned), [apply_affine(matrix, p) for p in polygons]
