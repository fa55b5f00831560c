"""Compose one warehouse scene: stage, parcels (with labels and damage), clutter, shadows and
light. Returns the float image and every annotation as an on-screen outline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lab.synthetic import clutter
from lab.synthetic.backgrounds import Stage, Support, build_stage
from lab.synthetic.cardboard import BOARD_COLOURS, Weighted, random_look
from lab.synthetic.geometry import Box, Points
from lab.synthetic.parcels import (
    PARCEL,
    Decor,
    edge_colours,
    parcel_painter,
    plan_decor,
    random_size,
)
from lab.synthetic.solids import (
    FacePainter,
    Solid,
    cast_shadow,
    draw_solid,
    screen_box,
    silhouette,
)
from lab.synthetic.textures import (
    Colour,
    Image,
    fractal_noise,
    linear_gradient,
    radial_falloff,
)


@dataclass(frozen=True)
class Annotation:
    """One object's visible outline; labels and damage point at the parcel they lie on."""

    class_id: int
    polygon: Points
    parent: int | None = None


@dataclass(frozen=True)
class SceneOptions:
    parcels: tuple[int, int] = (1, 6)
    clutter: tuple[int, int] = (0, 2)
    decor: Decor = field(default_factory=Decor)
    boards: Weighted = BOARD_COLOURS  # board colours and their weights


@dataclass
class Scene:
    kind: str
    image: Image
    annotations: list[Annotation]


@dataclass(frozen=True)
class Placed:
    solid: Solid
    role: str  # "parcel", "pallet" or "tote"
    box: Box


def render_scene(
    rng: np.random.Generator, kind: str, width: int, height: int, options: SceneOptions
) -> Scene:
    stage = build_stage(rng, kind, width, height)
    light = _light(rng)
    placed = _populate(rng, stage, options)
    canvas = stage.image.copy()
    for item in placed:
        cast_shadow(canvas, item.solid, stage.camera, light, float(rng.uniform(0.3, 0.55)))
    annotations: list[Annotation] = []
    for item in placed:
        annotations += _draw(rng, canvas, stage, item, light, options, len(annotations))
    _illuminate(rng, canvas)
    return Scene(kind, canvas, annotations)


def _light(rng: np.random.Generator) -> np.ndarray:
    """Mostly overhead warehouse lighting, leaning a little to one side."""
    direction = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), 1.0])
    return direction / np.linalg.norm(direction)


def _populate(rng: np.random.Generator, stage: Stage, options: SceneOptions) -> list[Placed]:
    """Place parcels then clutter without overlapping on screen; far ones are drawn first."""
    placed: list[Placed] = []
    wanted = int(rng.integers(options.parcels[0], options.parcels[1] + 1))
    _place(rng, stage, placed, "parcel", wanted)
    if stage.clutter:
        extras = int(rng.integers(options.clutter[0], options.clutter[1] + 1))
        for _ in range(extras):
            _place(rng, stage, placed, str(rng.choice(["pallet", "tote"])), 1)
    position = stage.camera.position
    return sorted(placed, key=lambda p: -float(np.linalg.norm(np.array(p.solid.base) - position)))


def _place(
    rng: np.random.Generator, stage: Stage, placed: list[Placed], role: str, count: int
) -> None:
    added = 0
    for _ in range(count * 15):
        if added == count:
            return
        support = stage.supports[int(rng.integers(0, len(stage.supports)))]
        solid = _candidate(rng, support, role)
        box = _fits(solid, stage, placed)
        if box is not None:
            placed.append(Placed(solid, role, box))
            added += 1


def _candidate(rng: np.random.Generator, support: Support, role: str) -> Solid:
    if role == "pallet":
        size = clutter.PALLET_SIZE
    elif role == "tote":
        size = clutter.TOTE_SIZES[int(rng.integers(0, len(clutter.TOTE_SIZES)))]
    else:
        size = random_size(rng, support.max_height)
    yaw = (
        float(rng.uniform(0, np.pi))
        if support.yaw_spread >= np.pi
        else support.yaw_mean + float(rng.normal(0, support.yaw_spread))
    )
    x0, x1, y0, y1 = support.region
    base = (float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)), support.z)
    solid = Solid(base, size, yaw)
    return _pushed_back(solid, support) if support.flush else solid


def _pushed_back(solid: Solid, support: Support) -> Solid:
    """Slide a shelf parcel so its front edge rests on the beam."""
    front = float(solid.corners()[:4, 1].min())
    x, y, z = solid.base
    return Solid((x, y + support.region[2] - front, z), solid.size, solid.yaw)


def _fits(solid: Solid, stage: Stage, placed: list[Placed]) -> Box | None:
    """The screen box if the solid stands on its support, is mostly in frame, is big enough to
    matter and does not cover anything already placed; otherwise None."""
    camera = stage.camera
    if not camera.is_in_front(solid.corners(), margin=0.3):
        return None
    if not any(s.holds(solid.corners()[:4, :2]) for s in stage.supports if s.z == solid.base[2]):
        return None
    box = screen_box(solid, camera)
    inside = box.clip(camera.width, camera.height).area / max(box.area, 1e-6)
    short = min(camera.width, camera.height)
    too_small, too_big = (0.06 * short) ** 2, 0.5 * camera.width * camera.height
    if inside < 0.75 or not too_small <= box.area <= too_big:
        return None
    if any(box.intersection(p.box) > 0.03 * min(box.area, p.box.area) for p in placed):
        return None
    return box


def _draw(
    rng: np.random.Generator,
    canvas: Image,
    stage: Stage,
    item: Placed,
    light: np.ndarray,
    options: SceneOptions,
    first_index: int,
) -> list[Annotation]:
    camera = stage.camera
    if item.role == "pallet":
        draw_solid(canvas, item.solid, camera, light, *_clutter_paint(clutter.pallet_painter(rng)))
        return []
    if item.role == "tote":
        draw_solid(canvas, item.solid, camera, light, *_clutter_paint(clutter.tote_painter(rng)))
        return []
    look = random_look(rng, options.boards)
    painter = parcel_painter(rng, look, plan_decor(rng, item.solid, camera, options.decor))
    marks = draw_solid(canvas, item.solid, camera, light, painter, edge_colours(look))
    parcel = Annotation(PARCEL, silhouette(item.solid, camera))
    return [parcel] + [Annotation(cls, pts, first_index) for cls, pts in marks]


def _clutter_paint(
    pair: tuple[Colour, FacePainter],
) -> tuple[FacePainter, tuple[Colour, Colour]]:
    """Clutter has no decorations; its edges are simply a darker shade of its colour."""
    colour, painter = pair
    dark = (colour[0] * 0.45, colour[1] * 0.45, colour[2] * 0.45)
    return painter, (dark, dark)


def _illuminate(rng: np.random.Generator, canvas: Image) -> None:
    """Uneven overhead light, a lamp hot-spot, vignetting and a colour cast, applied once."""
    height, width = canvas.shape[:2]
    light = linear_gradient(
        height,
        width,
        float(rng.uniform(0, 2 * np.pi)),
        float(rng.uniform(0.75, 0.95)),
        float(rng.uniform(1.0, 1.15)),
    )
    light *= 0.85 + 0.3 * fractal_noise(rng, height, width, max(width, height) / 2, octaves=2)
    lamp = (float(rng.uniform(0, width)), float(rng.uniform(0, height)))
    light += 0.15 * radial_falloff(height, width, lamp, max(width, height) * 0.5)
    light *= 1 - 0.25 * (
        1 - radial_falloff(height, width, (width / 2, height / 2), np.hypot(width, height) / 1.2)
    )
    cast = np.array([1 + rng.normal(0, 0.03) for _ in range(3)], np.float32)
    canvas *= light[..., None] * cast
    np.clip(canvas, 0, 255, out=canvas)
