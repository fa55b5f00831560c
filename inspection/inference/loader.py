"""The one loader every caller uses (registry and workers), so a model that registers is a model
the workers can run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspection.models import ModelVersion

DEFAULT_INPUT_SIZE = 640


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
    raise ValueError(f"{path}: unsupported model format {suffix or '(none)'}")


def load_yolo(path: Path | str) -> Any:
    """Load weights or an export from a local path (ultralytics is kept offline by settings)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model not found: {path}")
    return import_ultralytics().YOLO(str(path), task="detect")


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


def input_size(yolo: Any, path: Path) -> int:
    """The training/export image size: `.pt` args, or an export's metadata.yaml."""
    args = getattr(getattr(yolo, "model", None), "args", None)
    size = args.get("imgsz") if isinstance(args, dict) else None
    if size is None:
        size = _export_metadata(path).get("imgsz")
    if isinstance(size, (list, tuple)):
        size = max(size)
    return int(size) if size else DEFAULT_INPUT_SIZE


def _export_metadata(path: Path) -> dict[str, Any]:
    metadata = path / "metadata.yaml" if path.is_dir() else path.with_name("metadata.yaml")
    if not metadata.is_file():
        return {}
    import yaml

    loaded = yaml.safe_load(metadata.read_text())
    return loaded if isinstance(loaded, dict) else {}
