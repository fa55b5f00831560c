"""`yolo predict` (the ultralytics CLI) over a folder: the tool an integrator would otherwise
use. Timed as a whole command; a run over one image estimates the fixed start-up cost
(imports, model load, first predict), so steady-state images/s is reported as well."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.stats import rate


def yolo_executable() -> str:
    beside = Path(sys.executable).with_name("yolo")
    found = str(beside) if beside.is_file() else shutil.which("yolo")
    if not found:
        raise SystemExit("the ultralytics `yolo` command is not installed")
    return found


def command(model: Path, source: Path, device: str, input_size: int) -> list[str]:
    return [
        yolo_executable(),
        "predict",
        f"model={model}",
        f"source={source}",
        f"device={device}",
        f"imgsz={input_size}",
        "save=False",
        "verbose=False",
    ]


def offline_env(config_dir: Path) -> dict[str, str]:
    config_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "0",
        "YOLO_CONFIG_DIR": str(config_dir),
    }


def timed_run(argv: list[str], env: dict[str, str], timeout: float) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"yolo predict failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return seconds


def measure(
    model: Path, folder: Path, one_image: Path, device: str, input_size: int, work: Path
) -> dict[str, Any]:
    env = offline_env(work / "yolo-config")
    count = sum(1 for path in folder.iterdir() if path.is_file())
    whole = timed_run(command(model, folder, device, input_size), env, timeout=600)
    single = timed_run(command(model, one_image, device, input_size), env, timeout=120)
    steady = (count - 1) / (whole - single) if whole > single else None
    return {
        "command": " ".join(command(model, folder, device, input_size)),
        "images": count,
        "whole_command_seconds": round(whole, 3),
        "one_image_command_seconds": round(single, 3),
        "images_per_s_whole_command": rate(count, whole),
        "images_per_s_steady": round(steady, 3) if steady else None,
        "note": "batch=1 (the CLI default for a folder); ultralytics sets torch to "
        "max(1, cpu_count - 1) threads itself",
    }
