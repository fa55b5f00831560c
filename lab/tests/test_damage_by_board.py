"""Damage recall by board colour: the board estimated from the pixels around a box, and the
located / kept shares per board on hand-built images with known answers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inspection.calibration.dataset import Sample
from inspection.calibration.thresholds import Detection, GroundTruth
from lab.training.boards import board_around, damage_by_board

pytestmark = pytest.mark.training

KRAFT, WHITE, RED, SHADE = (92, 140, 186), (228, 230, 232), (60, 60, 190), (95, 95, 98)
BOX = (40.0, 30.0, 80.0, 70.0)


def board_image(colour: tuple[int, int, int]) -> np.ndarray:
    """A 120x100 board with a dark tear-like patch inside BOX."""
    image = np.full((100, 120, 3), colour, np.uint8)
    image[32:68, 42:78] = (30, 30, 30)
    return image


@pytest.mark.parametrize(
    ("colour", "board"),
    [
        (KRAFT, "kraft"),
        (WHITE, "white/grey"),
        (RED, "coloured"),
        (SHADE, "dim"),
    ],
)
def test_the_board_is_read_from_the_ring_around_the_box(
    colour: tuple[int, int, int],
    board: str,
) -> None:
    assert board_around(board_image(colour), BOX) == board


def test_a_box_at_the_frame_edge_still_has_a_ring() -> None:
    assert board_around(board_image(WHITE), (0.0, 0.0, 50.0, 40.0)) == "white/grey"


def sample(tmp_path: Path, name: str, colour: tuple[int, int, int]) -> Sample:
    path = tmp_path / f"{name}.png"
    cv2.imwrite(str(path), board_image(colour))
    truth = GroundTruth(name, 2, BOX)
    return Sample(name, path, 120, 100, (), (truth,))


def test_damage_is_counted_per_board_as_located_and_kept(tmp_path: Path) -> None:
    samples = [
        sample(tmp_path, "k", KRAFT),
        sample(tmp_path, "w", WHITE),
        sample(tmp_path, "w2", WHITE),
    ]
    detections = [
        Detection("k", 2, 0.9, BOX),  # kept: above the 0.5 threshold
        Detection("w", 2, 0.2, BOX),  # located, not kept
        Detection("w2", 2, 0.95, (0.0, 0.0, 10.0, 10.0)),  # confident, in the wrong place
        Detection("w2", 0, 0.95, BOX),  # right place, wrong class
    ]
    rows = damage_by_board(samples, detections, {2: 0.5})
    assert rows["kraft"] == {"truths": 1, "located": 1.0, "recall": 1.0}
    assert rows["white/grey"] == {"truths": 2, "located": 0.5, "recall": 0.0}
    assert rows["coloured"] == {"truths": 0, "located": None, "recall": None}
