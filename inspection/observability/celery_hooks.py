"""Celery signal handlers for operations: the worker's metrics exporter, its heartbeat, task
outcome counters and JSON logging. Imported by the task module, so every worker has them.

Order inside a worker: `worker_init` (main process, before the pool forks) clears metric files
an earlier run left; the pool forks and each child writes its own files; `worker_ready` (main
process, pool running) starts the exporter thread and the heartbeat, so neither is inherited by
a child; a child that exits drops its live gauges.
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery.signals import (
    setup_logging,
    task_failure,
    task_retry,
    task_success,
    worker_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from django.conf import settings

from inspection.inference import runtime
from inspection.observability import exporter, metrics
from inspection.observability.gpu import GpuCollector
from inspection.observability.heartbeat import Heartbeat

_heartbeats: list[Heartbeat] = []


def worker_role() -> str:
    return runtime.INFERENCE_ROLE if runtime.is_inference_worker() else "cpu"


@worker_init.connect
def _clear_metric_files(**_: Any) -> None:
    exporter.clear_stale_files(keep_pid=os.getpid())


@worker_ready.connect
def _start_exporter_and_heartbeat(sender: Any, **_: Any) -> None:
    role = worker_role()
    if settings.WORKER_METRICS_PORT:
        gpu = [GpuCollector()] if role == runtime.INFERENCE_ROLE else []
        exporter.start_exporter(settings.WORKER_METRICS_PORT, settings.WORKER_METRICS_ADDR, gpu)
    _heartbeats.append(Heartbeat(role, sender.hostname).start())


@worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    while _heartbeats:
        _heartbeats.pop().stop()


@worker_process_shutdown.connect
def _child_exited(pid: int | None = None, **_: Any) -> None:
    exporter.process_exited(pid or os.getpid())


@task_success.connect
def _task_succeeded(sender: Any, **_: Any) -> None:
    metrics.record_task(sender.name, "success")


@task_retry.connect
def _task_retried(sender: Any, **_: Any) -> None:
    metrics.record_task(sender.name, "retry")


@task_failure.connect
def _task_failed(sender: Any, **_: Any) -> None:
    metrics.record_task(sender.name, "failure")


if settings.LOG_FORMAT == "json":

    @setup_logging.connect
    def _json_logging(**_: Any) -> None:
        """Connected, this keeps Celery from installing its own text handlers: Django's LOGGING
        (JSON) applies to the worker too."""
        logging.config.dictConfig(settings.LOGGING)
