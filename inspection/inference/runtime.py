"""The inference runtime: a per-process cache of loaded models.

Inference workers (INSPECTION_WORKER_ROLE=inference, or a worker consuming the inference queue)
load every model version that is active somewhere once per process, at process start, and warm it
up; a version activated later is loaded on first use and cached. Nothing loads per task.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings

from inspection.inference import loader
from inspection.inference.threads import set_torch_threads
from inspection.models import Facility, ModelVersion
from inspection.observability import hooks

logger = logging.getLogger(__name__)

ROLE_ENV = "INSPECTION_WORKER_ROLE"
INFERENCE_ROLE = "inference"
# How long a pool process may take to load and warm up its models before Celery kills it.
PROCESS_START_SECONDS = 120.0

# Loads in this process; tests and the worker log read it to prove "one load per process".
LOAD_COUNT = 0
_CACHE: dict[int, LoadedModel] = {}


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

    def predict(self, arrays: Sequence[np.ndarray], conf: float) -> list[Prediction]:
        """One forward pass over all arrays (ultralytics batches a list of arrays)."""
        self.ensure_threads()
        results = self.yolo.predict(
            list(arrays),
            imgsz=self.input_size,
            conf=conf,
            iou=settings.INFERENCE_NMS_IOU,
            verbose=False,
            device=self.device,
        )
        self.predict_calls += 1
        return [_prediction(result) for result in results]

    def ensure_threads(self) -> None:
        if self.threads is not None:
            set_torch_threads(self.threads)


def _prediction(result: Any) -> Prediction:
    boxes = result.boxes
    return Prediction(
        boxes=boxes.xyxy.cpu().numpy().astype(np.float64).reshape(-1, 4),
        confidences=boxes.conf.cpu().numpy().astype(np.float64),
        class_ids=boxes.cls.cpu().numpy().astype(np.int64),
    )


def resolve_device(setting: str | None = None) -> str:
    """`auto` means the first GPU when CUDA is available, else the CPU."""
    wanted = (setting or settings.INFERENCE_DEVICE).strip().lower()
    if wanted != "auto":
        return "cuda:0" if wanted == "cuda" else wanted
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def cpu_threads() -> int:
    return settings.INFERENCE_THREADS or os.cpu_count() or 1


def get_model(model_version: ModelVersion) -> LoadedModel:
    """The cached model for a version, loaded (and warmed up) on first use in this process."""
    cached = _CACHE.get(model_version.pk)
    if cached is None:
        cached = _CACHE[model_version.pk] = load(model_version)
    return cached


def load(model_version: ModelVersion) -> LoadedModel:
    global LOAD_COUNT
    started = time.perf_counter()
    device = resolve_device()
    loaded = LoadedModel(
        model_version_id=model_version.pk,
        yolo=loader.load_yolo(model_version.file_path),
        input_size=model_version.input_size,
        class_names=list(model_version.class_names),
        device=device,
        threads=cpu_threads() if device == "cpu" else None,
    )
    warm_up(loaded)
    LOAD_COUNT += 1
    loaded.load_ms = (time.perf_counter() - started) * 1000
    hooks.model_loaded(loaded.load_ms / 1000, LOAD_COUNT)
    logger.info(
        "model loaded: %s device=%s threads=%s load_ms=%.0f loads_in_process=%d pid=%d",
        model_version,
        device,
        loaded.threads,
        loaded.load_ms,
        LOAD_COUNT,
        os.getpid(),
    )
    return loaded


def warm_up(loaded: LoadedModel) -> None:
    """The first predict of a process is slow (kernel selection, lazy init): pay it now."""
    size = loaded.input_size
    loaded.predict([np.zeros((size * 9 // 16, size, 3), dtype=np.uint8)], conf=0.5)
    loaded.predict_calls = 0
    loaded.ensure_threads()


def active_model_versions() -> list[ModelVersion]:
    ids = Facility.objects.filter(active_model__isnull=False).values("active_model")
    return list(ModelVersion.objects.filter(pk__in=ids))


def preload_active_models() -> int:
    """Load every model version active for some facility; a broken one is logged, not fatal."""
    loaded = 0
    for model_version in active_model_versions():
        try:
            get_model(model_version)
            loaded += 1
        except Exception:
            logger.exception("could not preload model %s", model_version)
    return loaded


def is_inference_worker() -> bool:
    """Set by the worker command (INSPECTION_WORKER_ROLE=inference), or by `on_worker_start`
    for a worker that consumes the inference queue; pool processes inherit it."""
    return os.environ.get(ROLE_ENV, "").strip().lower() == INFERENCE_ROLE


def on_worker_start(worker: Any) -> None:
    """Main worker process, before the pool forks: decide the role from the queues consumed,
    import the heavy libraries once (children inherit them; no model, no CUDA yet), and give
    pool processes time to load and warm up before Celery declares them dead (default 4 s)."""
    queues = set(worker.app.amqp.queues.consume_from or ())
    if settings.INFERENCE_QUEUE_NAME in queues and not os.environ.get(ROLE_ENV):
        os.environ[ROLE_ENV] = INFERENCE_ROLE
    if is_inference_worker():
        loader.import_ultralytics()
        conf = worker.app.conf
        conf.worker_proc_alive_timeout = max(
            conf.worker_proc_alive_timeout or 0, PROCESS_START_SECONDS
        )


def on_worker_process_init() -> None:
    """Each pool process of an inference worker: load and warm up the active models."""
    if is_inference_worker():
        count = preload_active_models()
        logger.info("inference process ready: %d model(s) preloaded, pid=%d", count, os.getpid())


def clear_cache() -> None:
    """Tests only: forget loaded models (the load counter keeps counting)."""
    _CACHE.clear()
