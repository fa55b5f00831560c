"""The committed default model's calibrated thresholds, read from the evaluation JSON that sits
next to the weights (models/default.eval.json), so a setup step can create a policy from them."""

from __future__ import annotations

import json
from pathlib import Path


def evaluation_path(weights: Path) -> Path:
    return weights.with_name(weights.stem + ".eval.json")


def calibrated_thresholds(weights: Path) -> dict[str, float]:
    """Class name -> threshold calibrated for the card's target precision ({} when absent)."""
    path = evaluation_path(weights)
    if not path.is_file():
        return {}
    classes = json.loads(path.read_text())["calibration"]["classes"]
    return {name: float(row["threshold"]) for name, row in classes.items()}
