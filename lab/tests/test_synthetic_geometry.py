"""Rotations move pixels and annotation outlines together, so boxes stay correct."""

from __future__ import annotations

import numpy as np
import pytest

from lab.synthetic.capture import quarter_turns, tilt
from lab.synthetic.geometry import bounding_box
from lab.synthetic.labels import paste_label
from lab.synthetic.scene import SceneOptions, render_scene

pytestmark = pytest.mark.training


def tiny_scene() -> tuple[np.ndarray, list[np.ndarray]]:
    scene = render_scene(np.random.default_rng(4), "conveyor", 160, 120, SceneOptions((2, 3)))
    assert scene.annotations
    return scene.image, [a.polygon for a in scene.annotations]


def test_quarter_turn_maps_boxes_like_pixels() -> None:
    image, polygons = tiny_scene()
    height = image.shape[0]
    turned, moved = quarter_turns(image, polygons, 1)
    assert np.array_equal(turned, np.rot90(image, k=-1))
    for before, after in zip(polygons, moved, strict=True):
        b, a = bounding_box(before), bounding_box(after)
        assert np.allclose([a.x1, a.y1, a.x2, a.y2], [height - b.y2, b.x1, height - b.y1, b.x2])


def test_four_quarter_turns_are_the_identity() -> None:
    image, polygons = tiny_scene()
    turned, moved = quarter_turns(image, polygons, 4)
    assert np.array_equal(turned, image)
    assert all(np.allclose(p, q) for p, q in zip(polygons, moved, strict=True))


def test_points_follow_their_pixels_through_a_tilt() -> None:
    image = np.zeros((90, 120, 3), np.float32)
    image[20, 30] = 255.0  # pixel (col 30, row 20): centre at (30.5, 20.5)
    turned, (moved,) = tilt(image, [np.array([[30.5, 20.5]])], 7.0)
    row, col = np.unravel_index(np.argmax(turned[..., 0]), turned.shape[:2])
    assert abs(col + 0.5 - moved[0, 0]) <= 1.0 and abs(row + 0.5 - moved[0, 1]) <= 1.0


def test_label_outline_covers_white_label_pixels() -> None:
    options = SceneOptions(parcels=(1, 1), clutter=(0, 0))
    scene = render_scene(np.random.default_rng(9), "floor", 320, 240, options)
    labels = [a for a in scene.annotations if a.class_id == 1]
    assert labels
    for label in labels:
        box = bounding_box(label.polygon)
        patch = scene.image[int(box.y1) + 1 : int(box.y2) - 1, int(box.x1) + 1 : int(box.x2) - 1]
        assert patch.size and patch.mean() > scene.image.mean()  # paper is brighter than board


def test_labels_on_faces_too_small_to_carry_one_are_skipped_not_crashed() -> None:
    """A parcel face under ~10 px wide used to make the label placement draw from an empty
    range (ValueError) and abort dataset generation."""
    rng = np.random.default_rng(0)
    for width in range(1, 14):
        face = np.zeros((60, width, 3), np.float32)
        for _ in range(50):
            # A face a centimetre wide: the label is scaled down to 80% of the face's width.
            corners = paste_label(rng, face, (0.01, 0.01))
            assert corners is None or len(corners) == 4
