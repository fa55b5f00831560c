"""The committed demo batch is present, small, shows visible damage where it promises to, and
contains the deliberate failures."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lab.synthetic.demo_samples import DAMAGE_SIDE, SHOTS, render_shot
from lab.synthetic.parcels import DAMAGE

pytestmark = pytest.mark.training

DEMO = Path(__file__).resolve().parents[2] / "samples" / "demo"
BROKEN = {"90-corrupt.jpg", "91-truncated.jpg", "92-empty.jpg", "93-not-an-image.jpg"}


def test_demo_batch_holds_every_named_shot_and_the_broken_uploads() -> None:
    names = {p.name for p in DEMO.iterdir() if p.is_file()}
    assert names == {f"{shot.name}.jpg" for shot in SHOTS} | BROKEN
    assert 20 <= len(SHOTS) <= 30


def test_demo_images_are_small_jpegs() -> None:
    for shot in SHOTS:
        data = (DEMO / f"{shot.name}.jpg").read_bytes()
        assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"
        assert len(data) < 120 * 1024, shot.name


def test_broken_uploads_are_broken_in_the_intended_way() -> None:
    assert (DEMO / "92-empty.jpg").stat().st_size == 0
    assert (DEMO / "90-corrupt.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    truncated = (DEMO / "91-truncated.jpg").read_bytes()
    assert truncated[:3] == b"\xff\xd8\xff" and truncated[-2:] != b"\xff\xd9"
    assert not (DEMO / "93-not-an-image.jpg").read_bytes().startswith(b"\xff\xd8")


def test_damage_shots_show_damage_large_enough_to_see() -> None:
    damage_shots = [(i, s) for i, s in enumerate(SHOTS) if s.needs == DAMAGE]
    assert len(damage_shots) == 3
    for index, shot in damage_shots:
        example = render_shot(shot, index)
        long_side = max(example.width, example.height)
        sides = [min(b.box.width, b.box.height) for b in example.boxes if b.class_id == DAMAGE]
        assert max(sides, default=0.0) >= DAMAGE_SIDE * long_side, shot.name
        committed = cv2.imread(str(DEMO / f"{shot.name}.jpg"))
        assert committed is not None, shot.name
        assert committed.shape[:2] == example.image.shape[:2]  # the committed file is this render
        assert np.abs(committed.astype(int) - example.image.astype(int)).mean() < 3, shot.name
