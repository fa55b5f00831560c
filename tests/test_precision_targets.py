"""Precision targets per class: parsing `--class-precision CLASS=P` and refusing bad ones with a
reason (a class the data set does not have included), in the library and through both commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inspection.calibration.targets import PrecisionTargets, TargetError, targets_from_options


def test_overrides_apply_to_their_class_only() -> None:
    targets = targets_from_options(0.95, ["damage=0.8"])
    assert targets.by_id(["parcel", "label", "damage"]) == {0: 0.95, 1: 0.95, 2: 0.8}
    assert targets.describe() == "0.95 (damage 0.8)"
    assert PrecisionTargets(0.9).describe() == "0.9"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (["damage"], "expected CLASS=PRECISION"),
        (["damage=high"], "is not a number"),
        (["damage=1.5"], "must be in \\(0, 1\\]"),
        (["label=0"], "must be in \\(0, 1\\]"),
    ],
)
def test_bad_targets_say_why(overrides: list[str], reason: str) -> None:
    with pytest.raises(TargetError, match=reason):
        targets_from_options(0.95, overrides)


def test_a_class_the_data_set_lacks_is_refused() -> None:
    targets = targets_from_options(0.95, ["dent=0.8", "damage=0.8"])
    with pytest.raises(TargetError, match=r"unknown class dent \(classes: parcel, label, damage\)"):
        targets.check_classes(["parcel", "label", "damage"])
    targets.check_classes(["dent", "damage"])


def test_a_bad_default_is_refused() -> None:
    with pytest.raises(TargetError, match="default"):
        PrecisionTargets(0.0)


@pytest.mark.parametrize("command", ["calibrate_thresholds", "evaluate_model"])
def test_commands_refuse_bad_targets_before_loading_anything(command: str, tmp_path: Path) -> None:
    # --model does not exist either: the target errors must come first, before the model or
    # the database is touched; only the data set's class names are read.
    data_yaml = tmp_path / "data.yaml"
    data_yaml.write_text("val: images/val\nnames: [parcel, label, damage]\n")
    with pytest.raises(CommandError, match="unknown class dent"):
        call_command(
            command,
            "--model",
            "missing.pt",
            "--data",
            str(data_yaml),
            "--class-precision",
            "dent=0.8",
        )
    with pytest.raises(CommandError, match="must be in"):
        call_command(
            command,
            "--model",
            "missing.pt",
            "--data",
            "missing/data.yaml",
            "--class-precision",
            "damage=2",
        )
    with pytest.raises(CommandError, match="missing/data.yaml: cannot read the data set's YAML"):
        call_command(command, "--model", "missing.pt", "--data", "missing/data.yaml")
