"""Thread budgets and hints for the export runtimes. ultralytics starts ONNX Runtime and OpenVINO
with their own defaults: every core, busy-waiting ONNX Runtime threads, and OpenVINO threads
pinned to cores. On a host shared by several processes (two inference pool processes, the CPU
worker, the web) pinned threads pile onto the same cores and spinning ones steal them
(../DESIGN.md, bench/README.md), so a CPU model is rebuilt once, at load, with the worker's
thread count and the INFERENCE_OPENVINO_* settings (chosen from bench/backends.py's
measurements: docs/deploy.md, "Inference backends")."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings

from inspection.inference import loader

logger = logging.getLogger(__name__)

OPENVINO_HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
OPENVINO_PRECISIONS = ("auto", "f32", "bf16", "f16")


def limit_cpu_threads(yolo: Any, path: Path, threads: int) -> str:
    """Rebuild the export's CPU runtime with `threads` threads, no spinning and OpenVINO's
    settings (after a first predict has started it); returns what runs it, for the load log."""
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

    config = {**backend.compile_model.keywords.get("config", {}), **openvino_cpu_config(threads)}
    core = ov.Core()
    backend.compile_model = partial(core.compile_model, device_name=device, config=config)
    xml = next(path.glob("*.xml")) if path.is_dir() else path
    backend.ov_compiled_model = backend.compile_model(core.read_model(str(xml)))
    return describe_openvino(backend.ov_compiled_model)


def openvino_cpu_config(threads: int) -> dict[str, Any]:
    """The CPU plugin's configuration from the settings (0 streams, `auto` precision: the
    plugin's own choice for the hint and the CPU: bf16 where the CPU computes in it natively,
    AVX512_BF16 or AMX, else f32)."""
    hint, precision = openvino_settings()
    config: dict[str, Any] = {
        "PERFORMANCE_HINT": hint,
        "INFERENCE_NUM_THREADS": threads,
        "ENABLE_CPU_PINNING": settings.INFERENCE_OPENVINO_PINNING,
    }
    if settings.INFERENCE_OPENVINO_STREAMS:
        config["NUM_STREAMS"] = settings.INFERENCE_OPENVINO_STREAMS
    if precision != "auto":
        config["INFERENCE_PRECISION_HINT"] = precision
    return config


def openvino_settings() -> tuple[str, str]:
    """INFERENCE_OPENVINO_HINT and _PRECISION, checked (open_model checks them before loading:
    a typo must be refused, not turned into a quiet fall back to torch)."""
    hint = settings.INFERENCE_OPENVINO_HINT.strip().upper()
    if hint not in OPENVINO_HINTS:
        raise ValueError(
            f"INFERENCE_OPENVINO_HINT={hint!r} is not one of {', '.join(OPENVINO_HINTS)}"
        )
    precision = settings.INFERENCE_OPENVINO_PRECISION.strip().lower()
    if precision not in OPENVINO_PRECISIONS:
        choices = ", ".join(OPENVINO_PRECISIONS)
        raise ValueError(f"INFERENCE_OPENVINO_PRECISION={precision!r} is not one of {choices}")
    return hint, precision


def describe_openvino(compiled: Any) -> str:
    """What the plugin settled on (read back, not what was asked), for the load log."""
    value = compiled.get_property
    return (
        f"openvino cpu threads={value('INFERENCE_NUM_THREADS')} hint={value('PERFORMANCE_HINT')} "
        f"streams={value('NUM_STREAMS')} pinning={'on' if value('ENABLE_CPU_PINNING') else 'off'} "
        f"precision={value('INFERENCE_PRECISION_HINT').get_type_name()}"
    )


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
