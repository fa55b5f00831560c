"""Flat warehouse surfaces drawn in their own metric texture space: concrete, belts, rollers,
racking. `backgrounds` lays them into the scene through the camera."""

from __future__ import annotations

import cv2
import numpy as np

from lab.synthetic.cardboard import choose
from lab.synthetic.textures import (
    Colour,
    Image,
    as_image,
    blend,
    fractal_noise,
    grain,
    jitter_colour,
    streaks,
    tint,
    value_noise,
)

CONCRETE: list[tuple[Colour, float]] = [
    ((150, 152, 155), 0.35),
    ((122, 126, 128), 0.25),
    ((172, 170, 164), 0.15),
    ((118, 134, 118), 0.15),  # green-grey epoxy
    ((95, 98, 104), 0.10),
]
BELTS: list[tuple[Colour, float]] = [
    ((42, 42, 45), 0.40),
    ((70, 72, 76), 0.25),
    ((70, 118, 62), 0.20),  # green PVC
    ((125, 95, 60), 0.15),  # blue-grey
]
RAILS: list[tuple[Colour, float]] = [
    ((165, 165, 162), 0.5),  # galvanised
    ((30, 175, 215), 0.25),  # safety yellow
    ((150, 85, 35), 0.25),  # blue paint
]


def concrete(rng: np.random.Generator, height: int, width: int, ppm: float) -> Image:
    """A warehouse floor: mottled slab, saw-cut joints, painted lanes, stains and tyre marks."""
    colour = jitter_colour(rng, choose(rng, CONCRETE), 6.0)
    shade = 1 + 0.2 * (fractal_noise(rng, height, width, 1.5 * ppm) - 0.5)
    shade += 0.06 * (value_noise(rng, height, width, max(2.0, 0.05 * ppm)) - 0.5)
    image = tint(shade, colour) + grain(rng, height, width, 5.0)[..., None]
    _joints(rng, image, ppm)
    if rng.random() < 0.6:
        _lane_line(rng, image, ppm)
    _stains(rng, image, ppm, int(rng.integers(0, 4)))
    return image


def _joints(rng: np.random.Generator, image: Image, ppm: float) -> None:
    spacing = rng.uniform(3.0, 6.0) * ppm
    thickness = max(1, int(0.008 * ppm))
    height, width = image.shape[:2]
    dark = tuple(float(c) for c in image.mean(axis=(0, 1)) * 0.55)
    for x in np.arange(rng.uniform(0, spacing), width, spacing):
        cv2.line(image, (int(x), 0), (int(x), height - 1), dark, thickness, cv2.LINE_AA)
    for y in np.arange(rng.uniform(0, spacing), height, spacing):
        cv2.line(image, (0, int(y)), (width - 1, int(y)), dark, thickness, cv2.LINE_AA)


def _lane_line(rng: np.random.Generator, image: Image, ppm: float) -> None:
    """A worn painted safety line, yellow or white."""
    height, width = image.shape[:2]
    paint = np.array((20, 185, 225) if rng.random() < 0.7 else (225, 228, 230), np.float32)
    band = max(2, int(rng.uniform(0.07, 0.12) * ppm))
    mask = np.zeros((height, width), np.float32)
    if rng.random() < 0.5:
        x = int(rng.uniform(0.1, 0.9) * width)
        mask[:, x : x + band] = 1
    else:
        y = int(rng.uniform(0.1, 0.9) * height)
        mask[y : y + band, :] = 1
    wear = (value_noise(rng, height, width, max(2.0, 0.1 * ppm)) > 0.25).astype(np.float32)
    image[...] = blend(image, image * 0.3 + paint * 0.7, mask * (0.3 + 0.6 * wear))


def _stains(rng: np.random.Generator, image: Image, ppm: float, count: int) -> None:
    """Oil and tyre marks: soft dark patches that keep the floor from looking synthetic."""
    height, width = image.shape[:2]
    for _ in range(count):
        centre = (rng.uniform(0, width), rng.uniform(0, height))
        axes = (rng.uniform(0.2, 1.2) * ppm + 1, rng.uniform(0.1, 0.6) * ppm + 1)
        mask = soft_ellipse(height, width, centre, axes, float(rng.uniform(0, 180)))
        image *= (1 - 0.3 * mask * value_noise(rng, height, width, 0.2 * ppm + 2))[..., None]


def soft_ellipse(
    height: int, width: int, centre: tuple[float, float], axes: tuple[float, float], angle: float
) -> Image:
    """A blurred filled ellipse in [0, 1]. Drawn and blurred at 1/8 size, then enlarged: a wide
    blur at full size costs seconds on a large texture."""
    small_w, small_h = max(2, width // 8), max(2, height // 8)
    mask = np.zeros((small_h, small_w), np.float32)
    cv2.ellipse(
        mask,
        (int(centre[0] / 8), int(centre[1] / 8)),
        (int(axes[0] / 8) + 1, int(axes[1] / 8) + 1),
        angle,
        0,
        360,
        1.0,
        -1,
    )
    mask = as_image(cv2.GaussianBlur(mask, (0, 0), max(1.0, min(axes) / 16)))
    return as_image(cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR))


def belt(rng: np.random.Generator, length: int, width: int, ppm: float) -> Image:
    """A flat belt, travel along x: worn lengthwise streaks, dust, an occasional splice."""
    colour = jitter_colour(rng, choose(rng, BELTS), 5.0)
    shade = 1 + 0.06 * streaks(rng, width, length, 0.8 * ppm).clip(-2, 2)
    shade += 0.12 * (fractal_noise(rng, width, length, 0.6 * ppm) - 0.5)
    image = tint(as_image(shade), colour) + grain(rng, width, length, 3.0)[..., None]
    for x in np.arange(rng.uniform(0, 3 * ppm), length, rng.uniform(2.5, 4.0) * ppm):
        cv2.line(
            image,
            (int(x), 0),
            (int(x), width - 1),
            tuple(float(c) * 1.4 for c in colour),
            max(1, int(0.006 * ppm)),
            cv2.LINE_AA,
        )
    return image


def rollers(rng: np.random.Generator, length: int, width: int, ppm: float) -> Image:
    """Steel rollers across the travel direction, each shaded as a cylinder, dark gaps between."""
    pitch = rng.uniform(0.07, 0.12) * ppm
    diameter = pitch * rng.uniform(0.7, 0.85)
    phase = (np.arange(length, dtype=np.float32) % pitch) / diameter
    bulge = np.abs(np.sin(np.pi * np.clip(phase, 0, 1))) ** 0.7
    profile = np.where(phase < 1, 0.45 + 0.7 * bulge, 0.12)
    shade = np.tile(profile.astype(np.float32), (width, 1))
    shade *= 1 + 0.05 * streaks(rng, length, width, 0.3 * ppm).T
    colour = jitter_colour(rng, (178, 178, 175), 10.0)
    return tint(shade, colour) + grain(rng, width, length, 4.0)[..., None]


def rail(rng: np.random.Generator, length: int, width: int, colour: Colour | None = None) -> Image:
    """A steel member along x: painted or galvanised, a highlight along its rounded face."""
    colour = colour or choose(rng, RAILS)
    across = np.linspace(0, np.pi, max(width, 1), dtype=np.float32)
    profile = 0.55 + 0.55 * np.sin(across) ** 2
    shade = np.tile(profile[:, None], (1, length))
    return tint(as_image(shade), colour) + grain(rng, width, length, 3.0)[..., None]


def racking(
    rng: np.random.Generator,
    height: int,
    width: int,
    ppm: float,
    beams: list[float],
    uprights: list[float],
) -> Image:
    """Pallet racking face: dark bays, orange beams whose tops sit at `beams` rows, blue uprights
    centred on `uprights` columns."""
    back = jitter_colour(rng, (58, 60, 64), 6.0)
    shade = 0.7 + 0.6 * fractal_noise(rng, height, width, 0.8 * ppm)
    image = tint(shade, back) + grain(rng, height, width, 4.0)[..., None]
    beam_h = max(2, int(0.12 * ppm))
    beam = rail(rng, width, beam_h, jitter_colour(rng, (10, 100, 215), 10.0))
    for row in beams:
        _paste_rows(image, int(row), beam)
    upright_w = max(2, int(0.09 * ppm))
    colour = jitter_colour(rng, (140, 75, 25), 10.0)
    post = np.transpose(rail(rng, height, upright_w, colour), (1, 0, 2)).copy()
    _punch_holes(post, ppm)
    for col in uprights:
        _paste_cols(image, int(col) - upright_w // 2, post)
    return image


def _punch_holes(post: Image, ppm: float) -> None:
    """The slot pattern down a rack upright that makes it read as racking, not a pipe."""
    step = max(3, int(0.05 * ppm))
    width = post.shape[1]
    for y in range(step // 2, post.shape[0], step):
        post[y : y + max(1, step // 3), width // 3 : max(width // 3 + 1, 2 * width // 3)] *= 0.3


def _paste_rows(image: Image, top: int, strip: Image) -> None:
    lo, hi = max(top, 0), min(top + strip.shape[0], image.shape[0])
    if hi > lo:
        image[lo:hi] = strip[lo - top : hi - top, : image.shape[1]]


def _paste_cols(image: Image, left: int, strip: Image) -> None:
    lo, hi = max(left, 0), min(left + strip.shape[1], image.shape[1])
    if hi > lo:
        image[:, lo:hi] = strip[: image.shape[0], lo - left : hi - left]
