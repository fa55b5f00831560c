"""`train(init=...)` really starts from the given weights (ultralytics rebuilds a model with
random weights when told pretrained=False, which would silently turn a fine-tune into a
from-scratch run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from django.conf import settings

from inspection.synthetic import TINY_RESOLUTIONS, GeneratorConfig
from inspection.training.data import generate_tolerant
from inspection.training.offline import configure_offline
from inspection.training.train import MODEL_YAML, TrainSettings, train

WEIGHTS = Path(settings.BASE_DIR) / "models" / "default.pt"
FIRST_CONV = "model.0.conv.weight"
pytestmark = pytest.mark.usefixtures("keep_torch_threads")


def first_conv(path_or_yaml: str) -> torch.Tensor:
    from ultralytics import YOLO

    return YOLO(path_or_yaml).model.state_dict()[FIRST_CONV].float()


def test_a_run_with_init_keeps_the_init_weights_when_nothing_is_learned(tmp_path: Path) -> None:
    configure_offline()
    generate_tolerant(tmp_path / "data", 6, 3, (0.5, 0.5, 0.0),
                      GeneratorConfig(resolutions=TINY_RESOLUTIONS))
    frozen = TrainSettings(epochs=1, imgsz=64, batch=4, lr0=0.0, cache=False,
                           extra={"warmup_epochs": 0, "weight_decay": 0.0, "val": False})
    result = train(tmp_path / "data" / "data.yaml", frozen, tmp_path / "runs", "init", init=WEIGHTS)
    start = first_conv(str(WEIGHTS))
    after = first_conv(str(result.run_dir / "weights" / "last.pt"))
    assert torch.allclose(after, start, atol=2e-3)
    assert not torch.allclose(first_conv(MODEL_YAML), start, atol=2e-3)  # random init differs

