"""Export `.pt` weights for another runtime with ultralytics' own exporter, offline.

The export has a dynamic input shape and batch: ultralytics then letterboxes each image as it
does for torch (to a multiple of the stride, not padded to a square: a 4:3 photo at 640 runs at
640x480, 0.75 of the pixels of a static 640x640 export) and a batch runs in one call. Its boxes
therefore match torch's as closely as the runtimes allow (tests/test_openvino_backend.py).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from inspection.inference import loader
from inspection.inference.openvino_telemetry import decline_openvino_telemetry
from inspection.inference.threads import set_torch_threads
from inspection.models import ModelVersion

# ultralytics' names for the formats it exports to.
EXPORTER_FORMATS: dict[str, str] = {
    ModelVersion.Format.OPENVINO: "openvino",
    ModelVersion.Format.ONNX: "onnx",
}


def export_weights(weights: Path, model_format: str, input_size: int) -> Path:
    """Export `weights` (the exporter writes beside them); returns the `.onnx` file or the
    OpenVINO folder."""
    import torch

    if model_format == ModelVersion.Format.OPENVINO:
        decline_openvino_telemetry()  # the converter reports every conversion otherwise
    threads = torch.get_num_threads()  # the exporter's select_device() changes it
    try:
        with quiet_exporter():
            exported = loader.load_yolo(weights).export(
                format=EXPORTER_FORMATS[model_format],
                imgsz=input_size,
                dynamic=True,
                device="cpu",
                verbose=False,
            )
    finally:
        set_torch_threads(threads)
    return Path(exported).resolve()


@contextmanager
def quiet_exporter() -> Iterator[None]:
    """The exporter logs a page of progress and advice per export (and its own error line when
    it fails), and torch's tracer warns that it is deprecated; the caller logs one line, with
    the exception's first line when it fails."""
    ultralytics_logger = logging.getLogger("ultralytics")
    level = ultralytics_logger.level
    ultralytics_logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)  # torch.jit's TracerWarning among them
            yield
    finally:
        ultralytics_logger.setLevel(level)
