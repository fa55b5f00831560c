"""Train the default detector: generate the seeded synthetic data set, train yolov8n from its
YAML (no pretrained weights) or continue from an earlier model of ours, copy `best.pt` stripped
of optimizer state, and record how."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from inspection.calibration.threads import use_all_cores
from lab.synthetic.parcels import CLASS_NAMES
from lab.training.data import generate_tolerant
from lab.training.recipe import DataRecipe, training_config

MODEL_YAML = "yolov8n.yaml"
RECIPE_FILE = "recipe.json"


@dataclass(frozen=True)
class TrainSettings:
    """CPU-feasible defaults (about 75 minutes on 2 cores); see models/MODEL_CARD.md."""

    epochs: int = 50
    imgsz: int = 416
    batch: int = 16
    device: str = "cpu"
    workers: int = 2
    seed: int = 0
    patience: int = 15
    close_mosaic: int = 8
    optimizer: str = "AdamW"
    lr0: float = 0.002
    # "disk": each image decoded once into a .npy beside it (about 1.4 MB per 800x600 frame);
    # on 2 cores JPEG decoding for mosaics otherwise costs a large share of every step.
    # "ram" is faster still, but ultralytics warns it makes training non-deterministic.
    cache: str | bool = "disk"
    warmup_bias_lr: float = 0.1
    extra: dict[str, Any] = field(default_factory=dict)

    def ultralytics_args(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "imgsz": self.imgsz,
            "batch": self.batch,
            "device": self.device,
            "workers": self.workers,
            "seed": self.seed,
            "patience": self.patience,
            "close_mosaic": self.close_mosaic,
            "optimizer": self.optimizer,
            "lr0": self.lr0,
            "warmup_bias_lr": self.warmup_bias_lr,
            "deterministic": True,
            "pretrained": False,
            "plots": False,
            "amp": False,
            "rect": False,
            "mosaic": 1.0,
            "cos_lr": True,
            "cache": self.cache,
            "verbose": True,
            **self.extra,
        }


def fine_tuning(settings: TrainSettings) -> TrainSettings:
    """Settings for continuing from trained weights. ultralytics' warmup starts every bias at a
    learning rate of 0.1 (falling to lr0 over the warmup epochs): right for random weights, but
    under AdamW it shifts a trained model's biases by up to about 0.1 a step through the warmup
    epochs, and the run spends them relearning what it had."""
    return replace(settings, warmup_bias_lr=0.0)


@dataclass(frozen=True)
class TrainResult:
    best: Path
    run_dir: Path
    seconds: float


def prepare_data(recipe: DataRecipe, data_dir: Path) -> Path:
    """Generate the data set unless `data_dir` already holds this exact recipe."""
    marker = data_dir / RECIPE_FILE
    if marker.exists() and json.loads(marker.read_text()) == recipe.describe():
        return data_dir / "data.yaml"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    generated = generate_tolerant(
        data_dir,
        recipe.count,
        recipe.seed,
        recipe.split,
        training_config(recipe.max_side, recipe.mix),
    )
    marker.write_text(json.dumps(recipe.describe(), indent=1))
    (data_dir / "skipped.json").write_text(json.dumps(generated.skipped))
    return data_dir / "data.yaml"


def train(
    data_yaml: Path,
    settings: TrainSettings,
    runs_dir: Path,
    name: str,
    init: Path | None = None,
) -> TrainResult:
    """From the YAML (random weights), or from `init`: a local weights file of the same
    architecture and classes, e.g. the previous default model (nothing is downloaded)."""
    from ultralytics import YOLO

    model = YOLO(str(init) if init else MODEL_YAML)
    if settings.device == "cpu":
        model.add_callback("on_train_epoch_start", use_all_cores)
    started = time.perf_counter()
    # pretrained=False alone would make ultralytics rebuild `init` with random weights.
    args = settings.ultralytics_args() | {"pretrained": init is not None}
    model.train(data=str(data_yaml), project=str(runs_dir), name=name, exist_ok=True, **args)
    seconds = time.perf_counter() - started
    assert model.trainer is not None
    run_dir = Path(model.trainer.save_dir)
    return TrainResult(run_dir / "weights" / "best.pt", run_dir, seconds)


def export_weights(best: Path, out: Path) -> None:
    """`best.pt` without optimizer state or EMA copy: a few MB instead of three times that."""
    from ultralytics.utils.torch_utils import strip_optimizer

    out.parent.mkdir(parents=True, exist_ok=True)
    strip_optimizer(best, str(out))


def training_record(
    recipe: DataRecipe,
    settings: TrainSettings,
    result: TrainResult,
    argv: list[str] | None = None,
    init: Path | None = None,
) -> dict[str, Any]:
    return {
        "command": shlex.join(argv if argv is not None else sys.argv),
        "model_yaml": MODEL_YAML,
        "initial_weights": _describe_file(init) if init else None,
        "class_names": list(CLASS_NAMES),
        "data_recipe": recipe.describe(),
        "settings": asdict(settings),
        "wall_seconds": round(result.seconds, 1),
        "run_dir": str(result.run_dir),
    }


def _describe_file(path: Path) -> dict[str, Any]:
    return {
        "path": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
    }


def write_record(path: Path, record: dict[str, Any]) -> None:
    path.write_text(json.dumps(record, indent=1) + "\n")
