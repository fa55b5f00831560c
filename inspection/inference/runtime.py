"""The inference runtime: a per-process cache of loaded models.

Inference workers (INSPECTION_WORKER_ROLE=inference, or a worker consuming the inference queue)
load every model version that is active (or a shadow) somewhere once per process, at process
start, and warm it up. A version activated later is loaded and warmed by the process's model
watcher (a thread that looks for newly active versions every few seconds), so the first batch
after an activation does not pay for the load; one still not loaded when an image needs it is
loaded then. Nothing loads per task.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from inspection.inference import fixed_boxes, loader
from inspection.inference.devices import cpu_threads as cpu_threads
from inspection.inference.devices import resolve_device as resolve_device
from inspection.inference.loaded import LoadedModel, open_model
from inspection.inference.loaded import Prediction as Prediction
from inspection.inference.loaded import warm_up as warm_up
from inspection.inference.watcher import ModelWatcher
from inspection.models import Facility, ModelVersion
from inspection.observability import hooks
from inspection.pipeline import stages

logger = logging.getLogger(__name__)

ROLE_ENV = "INSPECTION_WORKER_ROLE"
INFERENCE_ROLE = stages.INFERENCE_ROLE.name
# How long a pool process may take to load and warm up its models before Celery kills it.
PROCESS_START_SECONDS = 120.0
# How often each inference process looks for newly activated versions (one small query): an
# activation is loaded and warmed within this plus the load time (about 1-2 s on a CPU).
WATCH_SECONDS = 2.0

# Loads in this process; tests and the worker log read it to prove "one load per process".
LOAD_COUNT = 0
_CACHE: dict[int, LoadedModel] = {}
# Versions whose load failed here: the watcher does not retry them every tick (an image that
# needs one still tries, and fails with the reason).
_BROKEN: set[int] = set()
# The watcher and the task thread may want the same version at once: it loads once.
_LOAD_LOCK = threading.Lock()
_WATCHER: ModelWatcher | None = None


def get_model(model_version: ModelVersion) -> LoadedModel:
    """The cached model for a version, loaded (and warmed up) on first use in this process."""
    cached = _CACHE.get(model_version.pk)
    if cached is not None:
        return cached
    with _LOAD_LOCK:
        cached = _CACHE.get(model_version.pk)
        if cached is None:
            cached = _CACHE[model_version.pk] = load(model_version)
    return cached


def load(model_version: ModelVersion) -> LoadedModel:
    global LOAD_COUNT
    if settings.INFERENCE_BENCH_FIXED_BOXES:  # the bench's ceiling: a model that costs nothing
        loaded = fixed_boxes.open_fixed(
            model_version.pk, model_version.input_size, model_version.class_names
        )
    else:
        loaded = open_model(
            Path(model_version.file_path),
            model_version.input_size,
            model_version.class_names,
            model_version.pk,
        )
    LOAD_COUNT += 1
    hooks.model_loaded(loaded.load_ms / 1000, LOAD_COUNT)
    hooks.model_backend(str(model_version), loaded.backend, loaded.device)
    logger.info(
        "model loaded: %s backend=%s device=%s threads=%s runtime=%r load_ms=%.0f "
        "loads_in_process=%d pid=%d",
        model_version,
        loaded.backend,
        loaded.device,
        loaded.threads,
        loaded.runtime,
        loaded.load_ms,
        LOAD_COUNT,
        os.getpid(),
    )
    return loaded


def active_model_ids() -> set[int]:
    """Versions active somewhere, and shadow models (run after the active one, so loaded the
    same way: at process start, or by the watcher when set later)."""
    rows = Facility.objects.values_list("active_model_id", "shadow_model_id")
    return {model_id for pair in rows.distinct() for model_id in pair if model_id is not None}


def preload_active_models() -> int:
    """Load every version active for some facility and not loaded here yet; returns how many
    were loaded now. A broken one is logged once, not fatal."""
    missing = active_model_ids() - set(_CACHE) - _BROKEN
    loaded = 0
    for model_version in ModelVersion.objects.filter(pk__in=missing):
        try:
            get_model(model_version)
            loaded += 1
        except Exception:
            _BROKEN.add(model_version.pk)
            logger.exception("could not preload model %s", model_version)
    return loaded


def is_loaded(model_version_id: int) -> bool:
    return model_version_id in _CACHE


def is_inference_worker() -> bool:
    """Set by the worker command (INSPECTION_WORKER_ROLE=inference), or by `on_worker_start`
    for a worker that consumes the inference queue; pool processes inherit it."""
    return os.environ.get(ROLE_ENV, "").strip().lower() == INFERENCE_ROLE


def on_worker_start(worker: Any) -> None:
    """Main worker process, before the pool forks: decide the role from the queues consumed,
    import the heavy libraries once (children inherit them; no model, no CUDA yet), and give
    pool processes time to load and warm up before Celery declares them dead (default 4 s)."""
    queues = set(worker.app.amqp.queues.consume_from or ())
    if stages.INFER.queue in queues and not os.environ.get(ROLE_ENV):
        os.environ[ROLE_ENV] = INFERENCE_ROLE
    if is_inference_worker():
        loader.import_ultralytics()
        conf = worker.app.conf
        conf.worker_proc_alive_timeout = max(
            conf.worker_proc_alive_timeout or 0, PROCESS_START_SECONDS
        )


def on_worker_process_init() -> None:
    """Each pool process of an inference worker (the processes that hold the models; a Celery
    broadcast would reach only the main process): load and warm up the active models, then
    watch for versions activated later."""
    if is_inference_worker():
        if resolve_device() == "cpu":  # on a GPU its CPU threads feed the GPU: full priority
            _lower_priority(settings.INFERENCE_WORKER_NICENESS)
        count = preload_active_models()
        logger.info("inference process ready: %d model(s) preloaded, pid=%d", count, os.getpid())
        start_model_watcher()


AUTOGROUP = Path("/proc/self/autogroup")


def _lower_priority(niceness: int) -> None:
    """On a CPU shared with the web and the CPU stages, the model's threads would take every
    core for a whole batch while a preprocess or validation of a few milliseconds waits for a
    time slice: at a lower priority they yield the CPU to that short work at once and take what
    is left (on a GPU, or alone on a machine, this changes nothing)."""
    if niceness <= 0:
        return
    os.nice(niceness)
    # Where the kernel groups processes by session (autogroup: the default on most
    # distributions, and the worker runs in a session of its own), the scheduler shares the CPU
    # between sessions first and a process's own niceness counts only inside its session: the
    # session's niceness is the one that counts. Raising it needs no privilege.
    try:
        AUTOGROUP.write_text(str(niceness))
    except OSError:  # no autogroup here (a container's cgroup, another kernel): niceness is it
        pass
    logger.info("inference process niceness +%d", niceness)


def start_model_watcher(interval: float = WATCH_SECONDS) -> ModelWatcher:
    global _WATCHER
    if _WATCHER is None or not _WATCHER.is_alive():
        _WATCHER = ModelWatcher(_load_newly_active, interval)
        _WATCHER.start()
    return _WATCHER


def _load_newly_active() -> None:
    count = preload_active_models()
    if count:
        logger.info("model watcher: %d newly active model(s) ready, pid=%d", count, os.getpid())


def clear_cache() -> None:
    """Tests only: forget loaded models (the load counter keeps counting)."""
    _CACHE.clear()
    _BROKEN.clear()
