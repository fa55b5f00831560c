"""Thread budgets for the export runtimes. ultralytics starts ONNX Runtime and OpenVINO with their
own defaults: every core, busy-waiting ONNX Runtime threads, and OpenVINO threads pinned to
cores. On a host shared by several processes (two inference pool processes, the CPU worker,
the web) pinned threads pile onto the same cores and spinning ones steal them (../DESIGN.md,
bench/README.md), so a CPU model is rebuilt once, at load, with the worker's thread count."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from inspection.inference import loader

logger = logging.getLogger(__name__)


def limit_cpu_threads(yolo: Any, path: Path, threads: int) -> str:
    """Rebuild the export's CPU runtime with `threads` threads, no pinning and no spinning
    (after a first predict has started it); returns what was done, for the load log."""
    backend = loader.runtime_backend(yolo)
    if hasattr(backend, "ov_compiled_model"):
        return _recompile_openvino(backend, path, threads)
    if getattr(backend, "session", None) is not None:
        return _rebuild_onnxruntime(backend, path, threads)
    return "torch"


def _recompile_openvino(backend: Any, path: Path, threads: int) -> str:
    device = backend.compile_model.keywords.get("device_name", "CPU")
    if device != "CPU":
        return f"openvino on {device}"
    import openvino as ov

    config = {
        **backend.compile_model.keywords.get("config", {}),
        "INFERENCE_NUM_THREADS": threads,
        "ENABLE_CPU_PINNING": False,
    }
    core = ov.Core()
    backend.compile_model = partial(core.compile_model, device_name=device, config=config)
    xml = next(path.glob("*.xml")) if path.is_dir() else path
    backend.ov_compiled_model = backend.compile_model(core.read_model(str(xml)))
    return f"openvino cpu threads={threads} pinning=off"


def _rebuild_onnxruntime(backend: Any, path: Path, threads: int) -> str:
    providers = backend.session.get_providers()
    if providers[0] != "CPUExecutionProvider":
        return f"onnxruntime on {providers[0]}"
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle worker threads busy-wait by default: CPU the other processes on the host need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    backend.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
    return f"onnxruntime cpu threads={threads} spinning=off"
