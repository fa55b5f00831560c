"""Which runtime runs a model (INFERENCE_BACKEND, INFERENCE_DEVICE).

Registered ONNX and OpenVINO models run on their own runtime. `.pt` weights run, by default
(`auto`), in torch with CUDA in FP16 on a GPU and through an OpenVINO export of them on a CPU:
on 2 CPU cores the export predicts 2.2-2.7 times faster than torch (bench/backends.py, numbers
in docs/deploy.md "Inference backends"). An operator may pin torch, openvino or onnxruntime for
`.pt` weights instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.conf import settings

from inspection.inference import devices
from inspection.models import ModelVersion

AUTO = "auto"
TORCH = "torch"
OPENVINO = "openvino"
ONNXRUNTIME = "onnxruntime"
BACKENDS = (TORCH, OPENVINO, ONNXRUNTIME)
# The runtime a registered format runs on, whatever INFERENCE_BACKEND says.
NATIVE_BACKENDS: dict[str, str] = {
    ModelVersion.Format.PYTORCH: TORCH,
    ModelVersion.Format.ONNX: ONNXRUNTIME,
    ModelVersion.Format.OPENVINO: OPENVINO,
}
# The export `.pt` weights are turned into to run on a pinned (or the automatic) backend.
EXPORT_FORMATS: dict[str, str] = {
    OPENVINO: ModelVersion.Format.OPENVINO,
    ONNXRUNTIME: ModelVersion.Format.ONNX,
}


@dataclass(frozen=True)
class BackendChoice:
    backend: str
    device: str
    # `.pt` weights run as this export of them (made and cached on the host); None: as they are.
    export_format: str | None = None
    # Half precision: torch on CUDA (exports take what their runtime picks).
    half: bool = False

    def in_torch(self) -> BackendChoice:
        """The same weights in torch: where an export cannot be made or loaded."""
        device = devices.resolve_device()
        return replace(self, backend=TORCH, device=device, export_format=None, half=_cuda(device))


def backend_setting(value: str | None = None) -> str:
    """INFERENCE_BACKEND (or `value`), checked: a typo must not quietly mean `auto`."""
    raw = settings.INFERENCE_BACKEND if value is None else value
    name = raw.strip().lower()
    if name not in (AUTO, *BACKENDS):
        raise ValueError(f"INFERENCE_BACKEND={raw!r} is not one of auto, {', '.join(BACKENDS)}")
    return name


def choose_backend(
    model_format: str, backend: str | None = None, device: str | None = None
) -> BackendChoice:
    """Where and on what a model of `model_format` runs, given the settings (or these values)."""
    wanted = backend_setting(backend)
    if model_format != ModelVersion.Format.PYTORCH:
        return BackendChoice(
            NATIVE_BACKENDS[model_format], devices.device_for(model_format, device)
        )
    resolved = devices.resolve_device(device)
    if wanted == AUTO:
        wanted = TORCH if _cuda(resolved) else OPENVINO
    if wanted == TORCH:
        return BackendChoice(TORCH, resolved, half=_cuda(resolved))
    export = EXPORT_FORMATS[wanted]
    return BackendChoice(wanted, devices.device_for(export, device), export_format=export)


def _cuda(device: str) -> bool:
    return device.startswith("cuda")
