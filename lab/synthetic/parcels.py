"""Parcels as the detector should learn them: a board box with tape, usually a shipping label,
sometimes damage; returns the screen outlines of the parcel, its label and its damage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.synthetic.camera import Camera
from lab.synthetic.cardboard import ParcelLook, face_texture
from lab.synthetic.damage import PAINTERS
from lab.synthetic.geometry import Points
from lab.synthetic.labels import paste_label
from lab.synthetic.solids import Face, FacePainter, Solid, visible_faces
from lab.synthetic.textures import Colour, Image

PARCEL, LABEL, DAMAGE = 0, 1, 2
CLASS_NAMES = ("parcel", "label", "damage")
DAMAGE_KINDS = tuple(PAINTERS)


@dataclass(frozen=True)
class Decor:
    """How likely a parcel is to carry a label and damage, and which damage kinds."""

    label_rate: float = 0.8
    damage_rate: float = 0.6
    damage_kinds: tuple[str, ...] = DAMAGE_KINDS
    # Damage goes only on faces whose short side spans at least this share of the frame's long
    # side (0.08: ~33 px once a frame is scaled to 416). Smaller, it shrinks to a few pixels that
    # nobody could see at the model's input size, and labelling it teaches the model noise.
    min_damage_face: float = 0.08


def random_size(rng: np.random.Generator, max_height: float) -> tuple[float, float, float]:
    """Log-uniform dimensions in metres: many small boxes, a few large ones."""
    w, d, h = np.exp(rng.uniform(np.log([0.18, 0.14, 0.08]), np.log([0.75, 0.6, 0.6])))
    return (float(w), float(d), float(min(h, max_height)))


def plan_decor(
    rng: np.random.Generator, solid: Solid, camera: Camera, decor: Decor
) -> dict[str, list[str]]:
    """Which visible face gets the label and which gets damage; faces seen edge-on are skipped
    because anything on them would be an unreadable sliver."""
    faces = [f for f in visible_faces(solid, camera) if f.name != "bottom"]
    if not faces:
        return {}
    biggest = max(face.area for face in faces)
    usable = [face for face in faces if face.area >= 0.3 * biggest]
    plan: dict[str, list[str]] = {}
    if rng.random() < decor.label_rate:
        plan.setdefault(_pick_face(rng, usable), []).append("label")
    large = [f for f in usable if min(f.pixel_size) >= decor.min_damage_face * camera.long_side]
    if large and decor.damage_kinds and rng.random() < decor.damage_rate:
        for _ in range(1 + int(rng.random() < 0.2)):
            kind = str(rng.choice(decor.damage_kinds))
            plan.setdefault(_pick_face(rng, large), []).append(kind)  # over the label: visible
    return plan


def _pick_face(rng: np.random.Generator, faces: list[Face]) -> str:
    areas = np.array([face.area for face in faces])
    return faces[int(rng.choice(len(faces), p=areas / areas.sum()))].name


def parcel_painter(
    rng: np.random.Generator, look: ParcelLook, plan: dict[str, list[str]]
) -> FacePainter:
    def paint(face: Face, size: tuple[int, int]) -> tuple[Image, list[tuple[int, Points]]]:
        texture = face_texture(rng, face.name, size, face.metres, look)
        marks: list[tuple[int, Points]] = []
        for kind in plan.get(face.name, []):
            outline = _decorate(rng, kind, texture, face.metres)
            if outline is not None:
                marks.append((LABEL if kind == "label" else DAMAGE, outline))
        return texture, marks

    return paint


def _decorate(
    rng: np.random.Generator, kind: str, texture: Image, metres: tuple[float, float]
) -> Points | None:
    if kind == "label":
        return paste_label(rng, texture, metres)
    return PAINTERS[kind](rng, texture)


def edge_colours(look: ParcelLook) -> tuple[Colour, Colour]:
    dark = tuple(c * 0.5 for c in look.colour)
    light = tuple(min(255.0, c * 1.15 + 10) for c in look.colour)
    return (dark[0], dark[1], dark[2]), (light[0], light[1], light[2])
