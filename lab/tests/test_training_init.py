"""`train(init=...)` really starts from the given weights (ultralytics rebuilds a model with
random weights when told pretrained=False, which would silently turn a fine-tune into a
from-scratch run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from django.conf import settings

from inspection.calibration.offline import configure_offline
from lab.synthetic import TINY_RESOLUTIONS, GeneratorConfig
from lab.training.data import generate_tolerant
from lab.training.train import MODEL_YAML, TrainSettings, fine_tuning, train

WEIGHTS = Path(settings.BASE_DIR) / "models" / "default.pt"
FIRST_CONV = "model.0.conv.weight"
pytestmark = [pytest.mark.training, pytest.mark.usefixtures("keep_torch_threads")]


def weights(path_or_yaml: str | Path) -> dict[str, torch.Tensor]:
    from ultralytics import YOLO

    network = YOLO(str(path_or_yaml)).model
    assert isinstance(network, torch.nn.Module)
    return {k: v.float() for k, v in network.state_dict().items()}


def first_conv(path_or_yaml: str) -> torch.Tensor:
    return weights(path_or_yaml)[FIRST_CONV]


def biases_moved(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> float:
    return max(float((after[k] - before[k]).abs().max()) for k in before if k.endswith(".bias"))


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    configure_offline()
    generate_tolerant(
        tmp_path / "data", 6, 3, (0.5, 0.5, 0.0), GeneratorConfig(resolutions=TINY_RESOLUTIONS)
    )
    return tmp_path / "data" / "data.yaml"


def test_a_run_with_init_keeps_the_init_weights_when_nothing_is_learned(
    tmp_path: Path,
    tiny_data: Path,
) -> None:
    frozen = TrainSettings(
        epochs=1,
        imgsz=64,
        batch=4,
        lr0=0.0,
        cache=False,
        extra={"warmup_epochs": 0, "weight_decay": 0.0, "val": False},
    )
    result = train(tiny_data, frozen, tmp_path / "runs", "init", init=WEIGHTS)
    start = first_conv(str(WEIGHTS))
    after = first_conv(str(result.run_dir / "weights" / "last.pt"))
    assert torch.allclose(after, start, atol=2e-3)
    assert not torch.allclose(first_conv(MODEL_YAML), start, atol=2e-3)  # random init differs


def test_fine_tuning_warms_up_without_kicking_the_biases(tmp_path: Path, tiny_data: Path) -> None:
    # lr0 0 with warmup on (one epoch of two): whatever moves, the bias warmup moved it.
    warm = TrainSettings(
        epochs=2, imgsz=64, batch=4, lr0=0.0, cache=False, extra={"weight_decay": 0.0, "val": False}
    )
    start = weights(WEIGHTS)
    kicked = train(tiny_data, warm, tmp_path / "runs", "default-warmup", init=WEIGHTS)
    tuned = train(tiny_data, fine_tuning(warm), tmp_path / "runs", "fine-tune", init=WEIGHTS)
    assert biases_moved(start, weights(kicked.run_dir / "weights" / "last.pt")) > 0.05
    assert biases_moved(start, weights(tuned.run_dir / "weights" / "last.pt")) < 1e-3
