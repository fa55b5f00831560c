"""The demo batch in samples/demo: named captures, clean and degraded, plus broken uploads.

Run `python -m lab.synthetic.demo_samples samples/demo` to rewrite it; output is
deterministic, so a rerun only changes files if the generator changed."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lab.synthetic.example import Example, Labelled, render_example
from lab.synthetic.parcels import DAMAGE, PARCEL, Decor
from lab.synthetic.plan import GeneratorConfig, ImagePlan
from lab.synthetic.problems import Param, Problem
from lab.synthetic.scene import SceneOptions

DEMO_SEED = 2024
_CONFIG = GeneratorConfig()


@dataclass(frozen=True)
class Shot:
    name: str
    kind: str
    size: tuple[int, int]
    problems: tuple[tuple[str, dict[str, Param]], ...] = ()
    quality: int = 82
    scene: SceneOptions = field(default_factory=lambda: SceneOptions(parcels=(1, 4)))
    needs: int | None = PARCEL  # a class the picture must show, else try the next seed
    # ...at least this share of the long side across (a demo damage shot should show the damage)
    needs_side: float = 0.0


def _damage(kind: str) -> SceneOptions:
    return SceneOptions(parcels=(1, 2), clutter=(0, 0), decor=Decor(1.0, 1.0, (kind,)))


DAMAGE_SIDE = 0.06  # ~25 px at the model's 416: plainly visible


SHOTS: tuple[Shot, ...] = (
    Shot("01-clean-conveyor", "conveyor", (1024, 768)),
    Shot("02-clean-floor", "floor", (1024, 768)),
    Shot("03-clean-shelves", "shelves", (1024, 768)),
    Shot("04-clean-conveyor-wide", "conveyor", (1280, 720)),
    Shot("05-clean-floor-portrait", "floor", (768, 1024)),
    Shot(
        "06-many-parcels-floor",
        "floor",
        (1024, 768),
        scene=SceneOptions(parcels=(6, 9)),
        quality=75,
    ),
    Shot(
        "07-dark-floor",
        "floor",
        (1024, 768),
        (("low_light", {"gain": 0.3, "noise": 5.0}),),
        quality=75,
    ),
    Shot(
        "08-nearly-black", "conveyor", (1024, 768), (("low_light", {"gain": 0.025, "noise": 2.0}),)
    ),
    Shot(
        "09-motion-blur-conveyor",
        "conveyor",
        (1024, 768),
        (("motion_blur", {"length": 31, "angle": 15.0}),),
    ),
    Shot("10-strong-blur-shelves", "shelves", (1024, 768), (("focus_blur", {"sigma": 12.0}),)),
    Shot(
        "11-overexposed",
        "floor",
        (1024, 768),
        (("glare", {"x": 600, "y": 350, "radius": 450, "strength": 1.0, "washout": 0.62}),),
    ),
    Shot(
        "12-damage-tear",
        "conveyor",
        (1024, 768),
        scene=_damage("tear"),
        needs=DAMAGE,
        needs_side=DAMAGE_SIDE,
    ),
    Shot(
        "13-damage-crushed-corner",
        "floor",
        (1024, 768),
        scene=_damage("crush"),
        needs=DAMAGE,
        needs_side=DAMAGE_SIDE,
    ),
    Shot(
        "14-damage-wet-stain",
        "conveyor",
        (1024, 768),
        scene=_damage("wet"),
        needs=DAMAGE,
        needs_side=DAMAGE_SIDE,
    ),
    Shot("15-heavy-jpeg", "conveyor", (1024, 768), (("heavy_jpeg", {"quality": 8}),), quality=8),
    Shot("16-sensor-noise", "shelves", (800, 600), (("noise", {"sigma": 18.0}),), quality=60),
    Shot(
        "17-tilted-conveyor",
        "conveyor",
        (1024, 768),
        (("rotation", {"kind": "tilt", "angle": 8.0}),),
    ),
    Shot(
        "18-rotated-portrait", "floor", (1024, 768), (("rotation", {"kind": "rot90", "turns": 1}),)
    ),
    Shot("19-vga-conveyor", "conveyor", (640, 480)),
    Shot(
        "20-dark-noisy-shelves",
        "shelves",
        (800, 600),
        (("low_light", {"gain": 0.2, "noise": 9.0}), ("noise", {"sigma": 12.0})),
        quality=60,
    ),
    Shot(
        "21-empty-conveyor", "conveyor", (1024, 768), scene=SceneOptions(parcels=(0, 0)), needs=None
    ),
    Shot(
        "22-glare-conveyor",
        "conveyor",
        (1280, 720),
        (("glare", {"x": 500, "y": 300, "radius": 260, "strength": 1.0, "washout": 0.2}),),
    ),
    Shot(
        "23-blur-and-jpeg",
        "floor",
        (1024, 768),
        (("focus_blur", {"sigma": 4.0}), ("heavy_jpeg", {"quality": 15})),
        quality=15,
    ),
    Shot("24-portrait-shelves", "shelves", (720, 1280)),
)


def render_shot(shot: Shot, index: int) -> Example:
    """The first of a few seeds whose picture shows what the shot's name promises."""
    problems = [Problem(name, dict(params)) for name, params in shot.problems]
    plan = ImagePlan(shot.kind, shot.size[0], shot.size[1], problems, shot.quality)
    for attempt in range(20):
        rng = np.random.default_rng([DEMO_SEED, index, attempt])
        example = render_example(rng, plan, _CONFIG, shot.scene)
        if shot.needs is None or any(_shows(shot, b) for b in example.boxes):
            return example
    return example


def _shows(shot: Shot, labelled: Labelled) -> bool:
    box, long_side = labelled.box, max(shot.size)
    return labelled.class_id == shot.needs and min(box.width, box.height) >= (
        shot.needs_side * long_side
    )


def broken_uploads(truncate_from: bytes) -> dict[str, bytes]:
    """Uploads a real batch contains: each must fail alone without stopping the batch."""
    garbage = np.random.default_rng(DEMO_SEED).integers(0, 256, 6000, dtype=np.uint8).tobytes()
    jfif = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return {
        "90-corrupt.jpg": jfif + garbage,
        "91-truncated.jpg": truncate_from[: len(truncate_from) // 2],
        "92-empty.jpg": b"",
        "93-not-an-image.jpg": b"Shift report 14:00-22:00\nConveyor 3 stopped twice.\n",
    }


def write_demo_samples(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, bytes] = {}
    for index, shot in enumerate(SHOTS):
        written[f"{shot.name}.jpg"] = render_shot(shot, index).jpeg()
    written |= broken_uploads(written[f"{SHOTS[0].name}.jpg"])
    paths = []
    for name, data in written.items():
        (out_dir / name).write_bytes(data)
        paths.append(out_dir / name)
    return paths


if __name__ == "__main__":
    for path in write_demo_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "samples/demo")):
        print(f"{path.stat().st_size / 1024:7.1f} KB  {path}")
