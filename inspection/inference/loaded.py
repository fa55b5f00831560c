"""A model loaded the way the workers run it: backend, device, thread budget, warm-up, and one
predict call per batch."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from inspection.inference import backends, devices, export_cache, loader
from inspection.inference.backend_choice import OPENVINO, TORCH, BackendChoice, choose_backend
from inspection.inference.openvino_telemetry import decline_openvino_telemetry
from inspection.inference.threads import set_torch_threads

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    """One image's boxes in the pixels of the array the model was given."""

    boxes: np.ndarray  # N x 4, xyxy
    confidences: np.ndarray  # N
    class_ids: np.ndarray  # N


@dataclass
class LoadedModel:
    model_version_id: int
    yolo: Any
    input_size: int
    class_names: list[str]
    device: str
    threads: int | None
    load_ms: float = 0.0
    predict_calls: int = field(default=0)
    # What runs it (torch, openvino or onnxruntime: stored with each image it infers) and how:
    # threads, hint, precision (backends.py), for the load log and the registration report.
    backend: str = TORCH
    runtime: str = TORCH
    half: bool = False

    def predict(self, arrays: Sequence[np.ndarray], conf: float) -> list[Prediction]:
        """One forward pass per shape among the arrays, predictions in the arrays' order.

        ultralytics pads a batch of equal shapes to the smallest multiple of the stride, and a
        batch of mixed shapes to a square: an image's boxes would depend on its batch-mates (and
        change when it is retried alone). Passes of one shape each give every image the padding
        of its own shape, whatever shares its batch."""
        predictions: list[Prediction | None] = [None] * len(arrays)
        for indexes in _by_shape(arrays).values():
            results = self.results([arrays[i] for i in indexes], conf)
            for index, result in zip(indexes, results, strict=True):
                predictions[index] = _prediction(result)
        return [p for p in predictions if p is not None]

    def results(self, arrays: Sequence[np.ndarray], conf: float) -> list[Any]:
        """ultralytics' own results, whatever the task (`predict` needs boxes)."""
        self.ensure_threads()
        results = self.yolo.predict(
            list(arrays),
            imgsz=self.input_size,
            conf=conf,
            iou=settings.INFERENCE_NMS_IOU,
            verbose=False,
            device=self.device,
            # ultralytics' precision argument: 16 = FP16 (torch on CUDA); None = the runtime's.
            quantize=16 if self.half else None,
        )
        self.predict_calls += 1
        return list(results)

    def ensure_threads(self) -> None:
        if self.threads is not None:
            set_torch_threads(self.threads)


def _by_shape(arrays: Sequence[np.ndarray]) -> dict[tuple[int, ...], list[int]]:
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, array in enumerate(arrays):
        groups.setdefault(tuple(array.shape), []).append(index)
    return groups


def _prediction(result: Any) -> Prediction:
    boxes = result.boxes
    return Prediction(
        boxes=boxes.xyxy.cpu().numpy().astype(np.float64).reshape(-1, 4),
        confidences=boxes.conf.cpu().numpy().astype(np.float64),
        class_ids=boxes.cls.cpu().numpy().astype(np.int64),
    )


def open_model(
    path: Path,
    input_size: int | None = None,
    class_names: Sequence[str] = (),
    model_version_id: int = 0,
) -> LoadedModel:
    """Load and warm up weights or an export as a worker runs them (registration's probe uses
    this too), at `input_size` or the model's own, on the backend the settings choose: `.pt`
    weights through a cached export of them, or in torch when that export cannot be made or run
    (said in one warning line). Raises ValueError for a model that is not a detector."""
    started = time.perf_counter()
    choice = choose_backend(loader.detect_format(path))
    if choice.backend == OPENVINO:
        backends.openvino_settings()  # a typo in them is refused, never a quiet torch fallback
    if choice.backend == OPENVINO and choice.export_format is None:
        decline_openvino_telemetry()  # before openvino is imported: it reports the import
    yolo = loader.load_yolo(path)  # weights that cannot load fail here, on any backend
    size = input_size or loader.input_size(yolo, path)
    loaded = None
    if choice.export_format is not None:
        _require_detector(yolo, path)  # a classifier is refused, not exported first
        loaded = _through_export(path, choice, size)
        choice = choice if loaded is not None else choice.in_torch()
    if loaded is None:
        loaded = _warmed(yolo, choice, size)
    _require_detector(loaded.yolo, path)
    loaded.model_version_id = model_version_id
    loaded.class_names = list(class_names) or loader.class_names(loaded.yolo)
    loaded.load_ms = (time.perf_counter() - started) * 1000
    return loaded


def _through_export(path: Path, choice: BackendChoice, size: int) -> LoadedModel | None:
    """The weights' cached export, loaded and warmed up; None (after one warning line) when it
    cannot be made or run here, so that the weights still run, in torch."""
    assert choice.export_format is not None
    try:
        if choice.backend == OPENVINO:
            decline_openvino_telemetry()  # before openvino is imported (and its converter runs)
        export = export_cache.cached_export(path, choice.export_format, size)
        return _warmed(loader.load_yolo(export), choice, size)
    except Exception as exc:  # whatever the exporter or the runtime raises: torch still runs it
        logger.warning(
            "%s: its %s export cannot be made or run here (%s); running it in torch instead",
            path.name,
            choice.backend,
            _first_line(exc),
        )
        return None


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _warmed(yolo: Any, choice: BackendChoice, size: int) -> LoadedModel:
    loaded = LoadedModel(
        model_version_id=0,
        yolo=yolo,
        input_size=size,
        class_names=[],
        device=choice.device,
        threads=devices.cpu_threads() if choice.device == "cpu" else None,
        backend=choice.backend,
        half=choice.half,
    )
    warm_up(loaded)
    return loaded


def _require_detector(yolo: Any, path: Path) -> None:
    task = loader.model_task(yolo)
    if task != loader.DETECT_TASK:
        raise ValueError(f"{path.name} is a {task} model, not a detector (task=detect)")


def warm_up(loaded: LoadedModel) -> None:
    """The first predict of a process is slow (kernel selection, lazy init): pay it now. It also
    starts an export's runtime, which is then rebuilt with the CPU thread budget and warmed
    again."""
    size = loaded.input_size
    blank = [np.zeros((size * 9 // 16, size, 3), dtype=np.uint8)]
    loaded.results(blank, conf=0.5)
    loaded.runtime = describe(loaded)
    if loaded.threads is not None and loaded.backend != TORCH:
        path = weights_path(loaded.yolo)
        loaded.runtime = backends.limit_cpu_threads(loaded.yolo, path, loaded.threads)
        loaded.results(blank, conf=0.5)
    loaded.predict_calls = 0
    loaded.ensure_threads()


def describe(loaded: LoadedModel) -> str:
    """The backend and device (a CPU export's runtime describes itself once rebuilt)."""
    threads = f" threads={loaded.threads}" if loaded.threads is not None else ""
    return f"{loaded.backend} {loaded.device}{threads}{' fp16' if loaded.half else ''}"


def weights_path(yolo: Any) -> Path:
    """The file or folder a YOLO object was loaded from (an export keeps its path as `model`)."""
    return Path(yolo.model if isinstance(yolo.model, (str, Path)) else yolo.ckpt_path)
