"""Every metric the service exports, and the hooks the pipeline calls to move them.

Processes write to prometheus_client's multiprocess files when PROMETHEUS_MULTIPROC_DIR is set
(gunicorn workers, Celery prefork children); one exporter per host or container reads them:
the web process serves /metrics, each Celery worker's main process serves its pool on
METRICS_PORT. Numbers that describe shared state (queue depth, review backlog) are not counted
here at all: the web's scrape-time collector reads them from the broker and the database.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

PREFIX = "inspection"

# Metric files are opened as the metrics below are defined: the folder must exist first.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# Seconds: web requests and pipeline stages span milliseconds to a minute.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Queue waits can grow to minutes under a backlog.
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
CONFIDENCE_BUCKETS = tuple(round(step / 10, 1) for step in range(1, 11))
LOAD_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests", "HTTP responses by view and status.", ["method", "view", "status"]
)
HTTP_LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time from request to response.",
    ["method", "view"],
    buckets=LATENCY_BUCKETS,
)
STAGE_LATENCY = Histogram(
    f"{PREFIX}_stage_duration_seconds",
    "Work time of one image in a stage (inference: the batch's time per image).",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
QUEUE_WAIT = Histogram(
    f"{PREFIX}_queue_wait_seconds",
    "Time an image waited for a worker before a stage claimed it.",
    ["stage"],
    buckets=WAIT_BUCKETS,
)
BATCH_SIZE = Histogram(
    f"{PREFIX}_inference_batch_size", "Images per model call.", buckets=BATCH_SIZE_BUCKETS
)
MODEL_LOAD_SECONDS = Histogram(
    f"{PREFIX}_model_load_seconds",
    "Load plus warm-up time of a model in a worker process.",
    buckets=LOAD_BUCKETS,
)
MODEL_LOADS = Counter(f"{PREFIX}_model_loads", "Model loads (one per process and version).")
# The worst process of the pool: above 1 means a model was reloaded in steady state.
MODEL_LOADS_PER_PROCESS = Gauge(
    f"{PREFIX}_model_loads_per_process",
    "Most model loads seen in any live worker process.",
    multiprocess_mode="livemax",
)
# The service's own load on PostgreSQL and the broker (load_counters.py).
SQL_STATEMENTS = Counter(
    f"{PREFIX}_sql_statements", "SQL statements this service's processes sent through Django."
)
SQL_SECONDS = Counter(
    f"{PREFIX}_sql_seconds", "Seconds those statements took, as the client waited for them."
)
MESSAGES_PUBLISHED = Counter(
    f"{PREFIX}_messages_published", "Task messages published to the broker, by task.", ["task"]
)
PUBLISH_SECONDS = Counter(
    f"{PREFIX}_publish_seconds", "Seconds spent publishing task messages, by task.", ["task"]
)
# 1 per model version, backend and device some live worker process runs it on (an info metric:
# `inspection_inference_backend_info{backend="openvino"}` shows a CPU host on its default).
INFERENCE_BACKEND = Gauge(
    f"{PREFIX}_inference_backend_info",
    "The runtime each loaded model version runs on, by worker process (1 while loaded).",
    ["model", "backend", "device"],
    multiprocess_mode="livemax",
)
TASKS = Counter(f"{PREFIX}_tasks", "Celery task results by task and outcome.", ["task", "outcome"])
# Failed images sent through the pipeline again (inspection/dead_letters/), counted in the
# process that replayed them (the web, or a command).
IMAGES_REPLAYED = Counter(
    f"{PREFIX}_images_replayed", "Failed images replayed, by facility.", ["facility"]
)
IMAGES_FINISHED = Counter(
    f"{PREFIX}_images_finished",
    "Images that reached a terminal status, by status and failure reason.",
    ["facility", "status", "reason"],
)
CONFIDENCE = Histogram(
    f"{PREFIX}_detection_confidence",
    "Confidence of the detections validation kept, by class and facility.",
    ["facility", "class_name"],
    buckets=CONFIDENCE_BUCKETS,
)
# Shadow models (pipeline/shadow.py): their cost and output, apart from the active model's.
SHADOW_SECONDS = Histogram(
    f"{PREFIX}_shadow_inference_seconds",
    "A shadow model's inference time per image (its batch's time over its size).",
    ["facility", "model"],
    buckets=LATENCY_BUCKETS,
)
SHADOW_BOXES = Counter(
    f"{PREFIX}_shadow_boxes",
    "Boxes a shadow model predicted (stored apart).",
    ["facility", "model"],
)
SHADOW_FAILURES = Counter(
    f"{PREFIX}_shadow_failures",
    "Shadow batches that failed (the images are not affected).",
    ["facility", "model"],
)

STAGES = ("preprocess", "infer", "validate")
TASK_OUTCOMES = ("success", "retry", "failure")


def record_request(method: str, view: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, view, str(status)).inc()
    HTTP_LATENCY.labels(method, view).observe(seconds)


def record_stage(stage: str, seconds: float) -> None:
    STAGE_LATENCY.labels(stage).observe(seconds)


def record_queue_wait(stage: str, seconds: float) -> None:
    QUEUE_WAIT.labels(stage).observe(max(seconds, 0.0))


def record_inference_batch(size: int) -> None:
    """One model call's size (the infer stage's time per image is `record_stage`'s, as for
    every stage)."""
    BATCH_SIZE.observe(size)


def record_shadow(facility: str, model: str, seconds: float, boxes: int) -> None:
    SHADOW_SECONDS.labels(facility, model).observe(seconds)
    SHADOW_BOXES.labels(facility, model).inc(boxes)


def record_shadow_failure(facility: str, model: str) -> None:
    SHADOW_FAILURES.labels(facility, model).inc()


def record_model_load(seconds: float, loads_in_process: int) -> None:
    MODEL_LOADS.inc()
    MODEL_LOAD_SECONDS.observe(seconds)
    MODEL_LOADS_PER_PROCESS.set(loads_in_process)


def record_sql_statement(seconds: float) -> None:
    SQL_STATEMENTS.inc()
    SQL_SECONDS.inc(seconds)


def record_message_published(task: str, seconds: float) -> None:
    MESSAGES_PUBLISHED.labels(task).inc()
    PUBLISH_SECONDS.labels(task).inc(seconds)


def record_backend(model: str, backend: str, device: str) -> None:
    INFERENCE_BACKEND.labels(model, backend, device).set(1)


def record_task(task: str, outcome: str) -> None:
    TASKS.labels(task, outcome).inc()


def record_finished(facility: str, status: str, reason: str = "") -> None:
    IMAGES_FINISHED.labels(facility, status, reason).inc()


def record_replayed(facility: str, count: int) -> None:
    IMAGES_REPLAYED.labels(facility).inc(count)


def record_confidences(facility: str, detections: Iterable[tuple[str, float]]) -> None:
    for class_name, confidence in detections:
        CONFIDENCE.labels(facility, class_name).observe(confidence)
