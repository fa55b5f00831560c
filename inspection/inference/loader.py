"""The one loader every caller uses (registry and workers), so a model that registers is a model
the workers can run."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from inspection.models import ModelVersion

DEFAULT_INPUT_SIZE = 640
DETECT_TASK = "detect"


def detect_format(path: Path) -> str:
    """`.pt` weights, an `.onnx` export or an OpenVINO export folder (`*_openvino_model/`)."""
    if path.is_dir():
        if any(path.glob("*.xml")):
            return ModelVersion.Format.OPENVINO
        raise ValueError(f"{path}: a folder, but not an OpenVINO export (no .xml inside)")
    suffix = path.suffix.lower()
    if suffix == ".pt":
        return ModelVersion.Format.PYTORCH
    if suffix == ".onnx":
        return ModelVersion.Format.ONNX
    raise ValueError(
        f"{path}: unsupported model format {suffix or '(none)'} (.pt, .onnx or an OpenVINO folder)"
    )


def load_yolo(path: Path | str) -> Any:
    """Load weights or an export from a local path (ultralytics is kept offline by settings).
    Exports load lazily: their runtime starts on the first predict."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model not found: {path}")
    return import_ultralytics().YOLO(str(path), task=DETECT_TASK)


def import_ultralytics() -> Any:
    """Import ultralytics (heavy: only in processes that load models) and undo its global
    patch of PIL.Image.open: the patch turns an unidentifiable upload into an attempt to
    install pi-heif, which changes how preprocessing in the same process rejects it."""
    import PIL.Image
    import ultralytics
    from ultralytics.utils import patches

    original_open = getattr(patches, "_image_open", None)
    if original_open is not None and PIL.Image.open is getattr(patches, "image_open", None):
        PIL.Image.open = original_open
    return ultralytics


def class_names(yolo: Any) -> list[str]:
    names = yolo.names
    if isinstance(names, dict):
        return [str(names[key]) for key in sorted(names)]
    return [str(name) for name in names]


def model_task(yolo: Any) -> str:
    """What the model was trained for. `load_yolo` asks for `detect`, which an export takes on
    trust, so an export's own metadata (read by its runtime on the first predict) decides."""
    backend = runtime_backend(yolo)
    return str(getattr(backend, "task", None) or yolo.task)


def runtime_backend(yolo: Any) -> Any:
    """ultralytics' backend object (torch module, ONNX Runtime session or OpenVINO model), once
    a predict has started it; None before."""
    autobackend = getattr(getattr(yolo, "predictor", None), "model", None)
    return getattr(autobackend, "backend", None)


def input_size(yolo: Any, path: Path) -> int:
    """The training/export image size: `.pt` args, or an export's own metadata."""
    args = getattr(getattr(yolo, "model", None), "args", None)
    size = args.get("imgsz") if isinstance(args, dict) else None
    if size is None:
        size = export_metadata(path).get("imgsz")
    if isinstance(size, (list, tuple)):
        size = max(size)
    return int(size) if size else DEFAULT_INPUT_SIZE


def export_metadata(path: Path) -> dict[str, Any]:
    """An export's metadata (inside an `.onnx`, `metadata.yaml` in an OpenVINO folder), read the
    way ultralytics reads it; values written as text (ONNX) are parsed back."""
    from ultralytics.nn.backends.base import BaseBackend

    metadata = BaseBackend.read_metadata(Path(path)) if Path(path).suffix != ".pt" else {}
    return {key: _parsed(value) for key, value in (metadata or {}).items()}


def _parsed(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def fixed_input_size(path: Path) -> int | None:
    """The input side a static export was traced at (it letterboxes every image to it); None for
    `.pt` weights and dynamic exports, which take the registered size."""
    if Path(path).suffix == ".pt":
        return None
    metadata = export_metadata(path)
    args = metadata.get("args")
    if metadata.get("dynamic") or (isinstance(args, dict) and args.get("dynamic")):
        return None
    size = metadata.get("imgsz")
    if isinstance(size, (list, tuple)):
        size = max(size)
    return int(size) if size else None
