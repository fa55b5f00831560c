"""What a parcel's faces look like: kraft, white or coloured board, fibres, flutes and tape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from lab.synthetic.textures import (
    Colour,
    Image,
    fractal_noise,
    grain,
    jitter_colour,
    streaks,
    tint,
)

Weighted = Sequence[tuple[Colour, float]]

# BGR. Kraft dominates real parcel traffic, so it gets most of the weight.
BOARD_COLOURS: Weighted = (
    ((92, 140, 186), 0.34),  # kraft
    ((80, 120, 165), 0.16),  # darker kraft
    ((120, 165, 205), 0.14),  # pale kraft
    ((228, 230, 232), 0.16),  # white mailer
    ((200, 205, 210), 0.06),  # grey-white
    ((60, 60, 190), 0.04),  # red
    ((170, 110, 40), 0.04),  # blue
    ((60, 190, 225), 0.03),  # yellow
    ((90, 150, 80), 0.03),  # green
)
TAPE_COLOURS: Weighted = (
    ((70, 130, 185), 0.45),  # brown packing tape
    ((215, 215, 215), 0.30),  # clear tape: a sheen, nearly the board colour
    ((40, 40, 200), 0.10),  # red branded tape
    ((210, 210, 215), 0.15),  # white paper tape
)


@dataclass(frozen=True)
class ParcelLook:
    colour: Colour
    tape: Colour | None
    tape_axis: int  # 0: tape runs along the box's width (x), 1: along its depth (y)
    tape_width: float  # metres
    clear_tape: bool


def choose(rng: np.random.Generator, options: Weighted) -> Colour:
    weights = np.array([w for _, w in options])
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def random_look(rng: np.random.Generator, boards: Weighted = BOARD_COLOURS) -> ParcelLook:
    tape = choose(rng, TAPE_COLOURS) if rng.random() < 0.85 else None
    return ParcelLook(
        colour=jitter_colour(rng, choose(rng, boards), 8.0),
        tape=tape,
        tape_axis=int(rng.integers(0, 2)),
        tape_width=float(rng.uniform(0.045, 0.075)),
        clear_tape=tape is not None and tape[0] > 200,
    )


def board(rng: np.random.Generator, size: tuple[int, int], colour: Colour, side: bool) -> Image:
    """Board surface: blotchy tone, fibre streaks, and on sides the faint flute ripple."""
    width, height = size
    shade = 1.0 + 0.07 * (fractal_noise(rng, height, width, max(width, height) / 2) - 0.5)
    shade += 0.025 * streaks(rng, height, width, max(4.0, width / 8))
    if side:
        period = max(3.0, height / rng.uniform(25, 60))
        rows = np.arange(height, dtype=np.float32)[:, None]
        shade += 0.018 * np.sin(rows * 2 * np.pi / period)
    image = tint(shade.astype(np.float32), colour)
    return image + grain(rng, height, width, 3.0)[..., None]


def face_texture(
    rng: np.random.Generator,
    name: str,
    size: tuple[int, int],
    metres: tuple[float, float],
    look: ParcelLook,
) -> Image:
    image = board(rng, size, look.colour, side=name != "top")
    if look.tape is not None:
        _tape(rng, image, name, metres, look)
    if name == "top":
        _flap_seam(image, look)
    return image


def _tape(
    rng: np.random.Generator,
    image: Image,
    name: str,
    metres: tuple[float, float],
    look: ParcelLook,
) -> None:
    """Tape along the flap seam on top, running a little way down the two faces it crosses."""
    height, width = image.shape[:2]
    vertical = (name == "top" and look.tape_axis == 1) or name in _faces_crossed(look)
    if name != "top" and name not in _faces_crossed(look):
        return
    span = width if vertical else height
    metres_across = metres[0] if vertical else metres[1]
    half = max(1, int(span * look.tape_width / metres_across / 2))
    centre = span // 2
    extent = height if name == "top" else int(height * rng.uniform(0.12, 0.3))
    region = (
        image[:extent, centre - half : centre + half]
        if vertical
        else image[centre - half : centre + half, :]
    )
    assert look.tape is not None
    if look.clear_tape:
        region *= 1.12  # clear tape: a glossy sheen over the board, not a colour
    else:
        region[...] = region * 0.25 + np.array(look.tape, np.float32) * 0.75
    np.clip(image, 0, 255, out=image)


def _faces_crossed(look: ParcelLook) -> tuple[str, str]:
    return ("right", "left") if look.tape_axis == 0 else ("front", "back")


def _flap_seam(image: Image, look: ParcelLook) -> None:
    """The gap where the top flaps meet, visible when tape is clear or missing."""
    if look.tape is not None and not look.clear_tape:
        return
    height, width = image.shape[:2]
    colour = tuple(float(c) * 0.45 for c in look.colour)
    if look.tape_axis == 0:
        cv2.line(image, (0, height // 2), (width - 1, height // 2), colour, 1, cv2.LINE_AA)
    else:
        cv2.line(image, (width // 2, 0), (width // 2, height - 1), colour, 1, cv2.LINE_AA)
