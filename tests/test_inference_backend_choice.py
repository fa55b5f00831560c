"""Which runtime runs a model: `.pt` weights through OpenVINO on a CPU and in torch with FP16 on a
GPU unless INFERENCE_BACKEND pins one; ONNX and OpenVINO models on their own runtime whatever it
says. A GPU is reached through the device seam (torch.cuda.is_available), so no GPU is needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from django.conf import settings as django_settings

from inspection.inference import devices
from inspection.inference.backend_choice import BackendChoice, backend_setting, choose_backend
from inspection.inference.loaded import open_model

DEFAULT_WEIGHTS = Path(django_settings.DEFAULT_MODEL_PATH)


@pytest.fixture
def cpu_host(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    settings.INFERENCE_DEVICE = "auto"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_onnxruntime_has_cuda", lambda: False)
    return settings


@pytest.fixture
def gpu_host(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    settings.INFERENCE_DEVICE = "auto"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(devices, "_onnxruntime_has_cuda", lambda: False)  # the CPU wheel
    return settings


def test_the_default_is_auto() -> None:
    assert django_settings.INFERENCE_BACKEND == "auto"


def test_on_a_cpu_pt_weights_run_through_an_openvino_export(cpu_host: Any) -> None:
    cpu_host.INFERENCE_BACKEND = "auto"
    assert choose_backend("pt") == BackendChoice("openvino", "cpu", export_format="openvino")


def test_on_a_gpu_pt_weights_run_in_torch_with_fp16(gpu_host: Any) -> None:
    gpu_host.INFERENCE_BACKEND = "auto"
    assert choose_backend("pt") == BackendChoice("torch", "cuda:0", half=True)


def test_a_pinned_torch_is_honoured_on_a_cpu(cpu_host: Any) -> None:
    cpu_host.INFERENCE_BACKEND = "torch"
    assert choose_backend("pt") == BackendChoice("torch", "cpu")


def test_a_pinned_onnxruntime_runs_an_onnx_export_of_the_weights(cpu_host: Any) -> None:
    cpu_host.INFERENCE_BACKEND = "onnxruntime"
    assert choose_backend("pt") == BackendChoice("onnxruntime", "cpu", export_format="onnx")


def test_a_pinned_openvino_on_a_gpu_host_runs_on_its_cpu(gpu_host: Any) -> None:
    gpu_host.INFERENCE_BACKEND = "openvino"
    assert choose_backend("pt") == BackendChoice("openvino", "cpu", export_format="openvino")


@pytest.mark.parametrize("pinned", ["auto", "torch", "openvino", "onnxruntime"])
def test_onnx_and_openvino_models_run_on_their_own_runtime(pinned: str, cpu_host: Any) -> None:
    cpu_host.INFERENCE_BACKEND = pinned
    assert choose_backend("onnx") == BackendChoice("onnxruntime", "cpu")
    assert choose_backend("openvino") == BackendChoice("openvino", "cpu")


def test_falling_back_to_torch_keeps_fp16_on_a_gpu(gpu_host: Any) -> None:
    gpu_host.INFERENCE_BACKEND = "openvino"
    assert choose_backend("pt").in_torch() == BackendChoice("torch", "cuda:0", half=True)


def test_the_setting_is_read_loosely_but_a_typo_is_refused() -> None:
    assert backend_setting(" OpenVINO ") == "openvino"
    with pytest.raises(ValueError, match="INFERENCE_BACKEND='openvno' is not one of auto, torch"):
        backend_setting("openvno")


@pytest.mark.parametrize(
    ("name", "value"),
    [("INFERENCE_OPENVINO_HINT", "FASTEST"), ("INFERENCE_OPENVINO_PRECISION", "int4")],
)
def test_a_typo_in_openvino_settings_is_refused_before_anything_loads(
    name: str, value: str, cpu_host: Any
) -> None:
    """Not a quiet fall back to torch: the load (and so registration) says which setting."""
    cpu_host.INFERENCE_BACKEND = "auto"
    setattr(cpu_host, name, value)
    with pytest.raises(ValueError, match=f"{name}='{value}' is not one of"):
        open_model(DEFAULT_WEIGHTS)


@pytest.mark.slow
def test_fp16_reaches_ultralytics_which_applies_it_to_torch_on_cuda_only(settings: Any) -> None:
    """No GPU here: a torch model loaded as a GPU's would be (half) predicts on the CPU through
    the same call, and ultralytics takes its precision argument (FP16 for `.pt` off the CPU)."""
    from inspection.inference import loader
    from inspection.inference.loaded import LoadedModel, warm_up

    yolo = loader.load_yolo(DEFAULT_WEIGHTS)
    loaded = LoadedModel(0, yolo, 640, [], device="cpu", threads=2, half=True)
    warm_up(loaded)
    assert loaded.runtime == "torch cpu threads=2 fp16"
    (prediction,) = loaded.predict([np.full((480, 640, 3), 90, np.uint8)], conf=0.25)
    assert prediction.boxes.shape[1] == 4
    assert yolo.predictor.args.quantize == 16  # what makes ultralytics run `.pt` in FP16 on CUDA
    assert yolo.predictor.model.fp16 is False  # and not on a CPU, which has no FP16 kernels
