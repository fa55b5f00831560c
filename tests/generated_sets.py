"""A small labelled set of photos the model lab generates, for the tests that run the committed
weights on real labelled images: calibrate_thresholds here, evaluate_model in lab/tests."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from lab.training.data import generate_tolerant
from lab.training.recipe import training_config

WEIGHTS = Path(settings.BASE_DIR) / "models" / "default.pt"


def small_labelled_set(root: Path) -> Path:
    """Twelve photos at the training frame sizes (long side 640), about half in val and half
    in test (classes: parcel, label, damage); returns the set's data.yaml."""
    generate_tolerant(root, 12, 41, (0.0, 0.5, 0.5), training_config(640))
    return root / "data.yaml"
