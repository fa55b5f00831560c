"""Damage is painted only where it would be visible at the model's input size."""

from __future__ import annotations

import numpy as np
import pytest

from lab.synthetic.camera import Camera
from lab.synthetic.parcels import Decor, plan_decor
from lab.synthetic.solids import Solid, visible_faces

pytestmark = pytest.mark.training

CAMERA = Camera(width=1600, height=1200, focal=1400.0, pitch=0.7, elevation=2.0)
ALWAYS_DAMAGED = Decor(label_rate=0.0, damage_rate=1.0)


def parcel_at(distance: float, size: float) -> Solid:
    return Solid((0.0, distance, 0.0), (size, size, size), 0.3)


def planned_damage(solid: Solid, decor: Decor, draws: int = 20) -> list[str]:
    rng = np.random.default_rng(0)
    return [
        kind
        for _ in range(draws)
        for kinds in plan_decor(rng, solid, CAMERA, decor).values()
        for kind in kinds
    ]


def short_sides(solid: Solid) -> list[int]:
    return [min(face.pixel_size) for face in visible_faces(solid, CAMERA)]


def test_a_parcel_too_small_on_screen_gets_no_damage() -> None:
    far_small = parcel_at(8.0, 0.2)
    assert max(short_sides(far_small)) < ALWAYS_DAMAGED.min_damage_face * CAMERA.long_side
    assert planned_damage(far_small, ALWAYS_DAMAGED) == []


def test_a_parcel_large_on_screen_gets_damage_on_a_large_face() -> None:
    near_large = parcel_at(2.5, 0.6)
    large = [
        f.name
        for f in visible_faces(near_large, CAMERA)
        if min(f.pixel_size) >= ALWAYS_DAMAGED.min_damage_face * CAMERA.long_side
    ]
    assert large
    rng = np.random.default_rng(0)
    for _ in range(20):
        plan = plan_decor(rng, near_large, CAMERA, ALWAYS_DAMAGED)
        assert plan and set(plan) <= set(large)


def test_the_size_floor_is_what_stops_damage_on_small_parcels() -> None:
    far_small = parcel_at(8.0, 0.2)
    no_floor = Decor(label_rate=0.0, damage_rate=1.0, min_damage_face=0.0)
    assert planned_damage(far_small, no_floor)
