"""What the numbers depend on: machine, versions, threads, model, and what else used the CPU."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench.context import ROOT

PACKAGES = (
    "torch",
    "ultralytics",
    "ultralytics-opencv-headless",
    "opencv-python-headless",
    "numpy",
    "django",
    "celery",
    "pillow",
    "onnxruntime",
    "openvino",
)
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "MKL_NUM_THREADS",
    "INFERENCE_THREADS",
    "INFERENCE_BATCH_SIZE",
    "INFERENCE_DEVICE",
)


def describe(model_path: Path, model_checksum: str, mode: str) -> dict[str, Any]:
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "versions": _versions(),
        "torch_threads": torch_threads(),
        "thread_environment": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "model": {"path": str(model_path), "sha256": model_checksum},
        "backend": mode,
        "cuda": _cuda(),
        "load": cpu_load(),
    }


def cpu_load(exclude_pids: set[int] | None = None) -> dict[str, Any]:
    """Load average and the processes (not ours) using the most CPU right now."""
    return {
        "at": time.strftime("%H:%M:%S"),
        "loadavg_1_5_15": [round(value, 2) for value in os.getloadavg()],
        "busiest_other_processes": _busiest(exclude_pids or set()),
    }


def _busiest(exclude: set[int], sample_seconds: float = 0.5) -> list[dict[str, Any]]:
    ours = exclude | {os.getpid()} | {child.pid for child in psutil.Process().children(True)}
    processes = [p for p in psutil.process_iter(["pid", "name", "cmdline"]) if p.pid not in ours]
    for process in processes:
        _cpu_percent(process)
    time.sleep(sample_seconds)
    rows: list[dict[str, Any]] = [
        {"pid": p.pid, "cpu_percent": cpu, "command": " ".join(p.info["cmdline"] or [])[:160]}
        for p in processes
        if (cpu := _cpu_percent(p)) is not None and cpu >= 5.0
    ]
    return sorted(rows, key=lambda row: -row["cpu_percent"])[:5]


def _cpu_percent(process: psutil.Process) -> float | None:
    try:
        return round(process.cpu_percent(None), 1)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _versions() -> dict[str, str]:
    import ultralytics

    found = {"ultralytics": str(ultralytics.__version__)}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def torch_threads() -> dict[str, int]:
    import torch

    return {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()}


def _cuda() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip()


def gpu_device(device: str) -> str | None:
    """ "0" or "cuda:0" -> "cuda:0"; "cpu" -> None."""
    if device.strip().lower() == "cpu":
        return None
    return device if device.startswith("cuda") else f"cuda:{device}"
