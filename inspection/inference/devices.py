"""Where models run and with how many CPU threads, from the INFERENCE_* settings."""

from __future__ import annotations

import os

from django.conf import settings

from inspection.models import ModelVersion


def resolve_device(setting: str | None = None) -> str:
    """`auto` means the first GPU when CUDA is available, else the CPU."""
    wanted = (setting or settings.INFERENCE_DEVICE).strip().lower()
    if wanted != "auto":
        return "cuda:0" if wanted == "cuda" else wanted
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def device_for(model_format: str, setting: str | None = None) -> str:
    """Where a format really runs: an ONNX model on a GPU only with a CUDA build of onnxruntime,
    an OpenVINO export on the CPU. ultralytics quietly moves them to the CPU otherwise; the load
    log and the thread budget should say where they are."""
    device = resolve_device(setting)
    if device == "cpu" or model_format == ModelVersion.Format.PYTORCH:
        return device
    if model_format == ModelVersion.Format.ONNX and _onnxruntime_has_cuda():
        return device
    return "cpu"


def _onnxruntime_has_cuda() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def cpu_threads() -> int:
    return settings.INFERENCE_THREADS or os.cpu_count() or 1
