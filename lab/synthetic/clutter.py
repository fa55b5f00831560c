"""Things that are not parcels but share the scene: wooden pallets and plastic totes. They give
the detector box-shaped negatives, so it learns what makes a parcel a parcel."""

from __future__ import annotations

import cv2
import numpy as np

from lab.synthetic.cardboard import choose
from lab.synthetic.geometry import Points
from lab.synthetic.solids import Face, FacePainter
from lab.synthetic.textures import Colour, Image, grain, streaks, tint

PALLET_SIZE = (1.2, 0.8, 0.144)
TOTE_SIZES = [(0.6, 0.4, 0.32), (0.4, 0.3, 0.22)]
WOOD: list[tuple[Colour, float]] = [((105, 155, 190), 0.6), ((125, 135, 140), 0.4)]
PLASTIC: list[tuple[Colour, float]] = [
    ((150, 90, 30), 0.4),
    ((105, 108, 110), 0.3),
    ((45, 45, 170), 0.15),
    ((40, 160, 200), 0.15),
]
Marks = list[tuple[int, Points]]


def pallet_painter(rng: np.random.Generator) -> tuple[Colour, FacePainter]:
    wood = choose(rng, WOOD)

    def paint(face: Face, size: tuple[int, int]) -> tuple[Image, Marks]:
        width, height = size
        grainy = 1 + 0.08 * streaks(rng, height, width, max(4.0, width / 6))
        image = tint(grainy, wood) + grain(rng, height, width, 4.0)[..., None]
        if face.name == "top":
            _gaps(image, boards=int(rng.integers(5, 8)), along_rows=True)
        else:
            _gaps(image, boards=3, along_rows=False, opening=True)
        return image, []

    return wood, paint


def _gaps(image: Image, boards: int, along_rows: bool, opening: bool = False) -> None:
    """Dark spaces between top boards, or the fork openings between a pallet's blocks."""
    height, width = image.shape[:2]
    span = height if along_rows else width
    step = span / boards
    for i in range(boards - 1):
        start = int((i + 1) * step - step * (0.35 if opening else 0.12))
        stop = int((i + 1) * step)
        if along_rows:
            image[start:stop] *= 0.25
        else:
            image[int(height * 0.25) :, start + int(step * 0.3) : stop + int(step * 0.3)] *= 0.2


def tote_painter(rng: np.random.Generator) -> tuple[Colour, FacePainter]:
    plastic = choose(rng, PLASTIC)

    def paint(face: Face, size: tuple[int, int]) -> tuple[Image, Marks]:
        width, height = size
        image = tint(np.ones((height, width), np.float32), plastic)
        image += grain(rng, height, width, 2.0)[..., None]
        if face.name == "top":
            rim = max(1, int(min(width, height) * 0.07))
            image[rim:-rim, rim:-rim] *= 0.4  # looking into the open bin
        else:
            _ribs(image)
        return image, []

    return plastic, paint


def _ribs(image: Image) -> None:
    """Moulded vertical ribs and a hand hole: what makes a tote read as plastic."""
    height, width = image.shape[:2]
    step = max(3, width // 9)
    for x in range(step // 2, width, step):
        image[int(height * 0.2) :, x : x + max(1, step // 4)] *= 0.78
    hole = (width // 2, int(height * 0.15))
    axes = (max(1, width // 10), max(1, height // 16))
    cv2.ellipse(image, hole, axes, 0, 0, 360, (20.0, 20.0, 20.0), -1, cv2.LINE_AA)
