"""The training data recipe and reading a generated data set back for evaluation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inspection.calibration.dataset import load_split
from lab.synthetic import TINY_RESOLUTIONS, GeneratorConfig
from lab.synthetic.cardboard import BOARD_COLOURS, Weighted, random_look
from lab.training.data import generate_tolerant
from lab.training.recipe import SCENE_MIXES, DataRecipe, capped, training_resolutions
from lab.training.subsets import subsets_of
from lab.training.train import TrainResult, TrainSettings, training_record

pytestmark = pytest.mark.training


def test_training_frames_keep_the_aspect_mix_with_a_capped_long_side() -> None:
    assert capped(4000, 3000, 800) == (800, 600)
    assert capped(1080, 1920, 800) == (450, 800)
    assert capped(640, 480, 800) == (640, 480)
    assert all(max(w, h) <= 800 for w, h, _ in training_resolutions())


def white_or_grey_share(boards: Weighted, draws: int = 3000) -> float:
    rng = np.random.default_rng(7)
    return sum(min(random_look(rng, boards).colour) > 160 for _ in range(draws)) / draws


def test_the_damage_focus_mix_paints_more_white_and_grey_board() -> None:
    field, focus = SCENE_MIXES["field"], SCENE_MIXES["damage-focus"]
    assert field.boards == BOARD_COLOURS  # the field mix is the generator's default
    assert white_or_grey_share(field.boards) == pytest.approx(0.22, abs=0.03)
    assert white_or_grey_share(focus.boards) == pytest.approx(0.34, abs=0.03)
    assert focus.decor.damage_rate > field.decor.damage_rate


def test_only_non_field_recipes_describe_their_mix() -> None:
    # A field recipe describes itself as before the mix existed: its generated folders stay valid.
    assert "scene_mix" not in DataRecipe(10, 2).describe()
    assert DataRecipe(10, 2, mix="damage-focus").describe()["scene_mix"]["name"] == "damage-focus"


def test_problems_map_to_report_subsets() -> None:
    assert subsets_of([]) == {"all", "clean"}
    assert subsets_of(["motion_blur", "low_light"]) == {"all", "blur", "dark"}
    assert subsets_of(["heavy_jpeg", "rotation"]) == {"all", "jpeg", "rotated"}
    assert subsets_of(None) == {"all"}  # problems not recorded: not known to be clean


def test_generated_split_reads_back_with_boxes_in_pixels(tmp_path: Path) -> None:
    config = GeneratorConfig(resolutions=TINY_RESOLUTIONS)
    generated = generate_tolerant(tmp_path, 6, 3, (0.5, 0.0, 0.5), config)
    samples = load_split(tmp_path / "data.yaml", "train")
    assert generated.written == 6 and len(samples) == 3
    for sample in samples:
        lines = (tmp_path / "labels" / "train" / (sample.path.stem + ".txt")).read_text().split()
        assert len(sample.truths) == len(lines) // 5
        for truth in sample.truths:
            x1, y1, x2, y2 = truth.box
            assert -0.01 <= x1 < x2 <= sample.width + 0.01
            assert -0.01 <= y1 < y2 <= sample.height + 0.01


def test_training_never_asks_for_pretrained_weights_or_plots() -> None:
    args = TrainSettings().ultralytics_args()
    assert args["pretrained"] is False and args["plots"] is False and args["amp"] is False
    assert args["seed"] == 0 and args["deterministic"] is True


def test_record_names_the_weights_a_run_continued_from(tmp_path: Path) -> None:
    init = tmp_path / "previous.pt"
    init.write_bytes(b"weights of an earlier run")
    result = TrainResult(tmp_path / "best.pt", tmp_path, 12.5)
    record = training_record(DataRecipe(10, 2), TrainSettings(), result, ["train"], init=init)
    assert record["initial_weights"] == {
        "path": str(init),
        "bytes": 25,
        "sha256": hashlib.sha256(b"weights of an earlier run").hexdigest(),
    }
    scratch = training_record(DataRecipe(10, 2), TrainSettings(), result, ["train"])
    assert scratch["initial_weights"] is None


def test_train_command_refuses_a_missing_init_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such weights file"):
        call_command(
            "train_default_model",
            "--init",
            str(tmp_path / "missing.pt"),
            "--data-dir",
            str(tmp_path / "data"),
        )
    assert not (tmp_path / "data").exists()  # refused before generating anything
