"""Celery signal handlers for operations: the worker's metrics exporter, its heartbeat, task
outcome counters and JSON logging. Imported by the task module, so every worker has them.

With LOG_FORMAT=json every line a worker prints is JSON: Django's LOGGING replaces Celery's text
handlers, stdout and stderr go through the log (what a library prints becomes a JSON line), the
text banner becomes one JSON line, and so do the shutdown notices Celery writes past logging.

Order inside a worker: `worker_init` (main process, before the pool forks) clears metric files
an earlier run left; the pool forks and each child writes its own files; `worker_ready` (main
process, pool running) starts the exporter thread and the heartbeat, so neither is inherited by
a child; a child that exits drops its live gauges.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, TextIO

import celery.apps.worker
from celery import current_app
from celery.signals import (
    celeryd_after_setup,
    celeryd_init,
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
from inspection.observability.logging import configure_early, json_line
from inspection.pipeline.stages import CPU_ROLE

logger = logging.getLogger(__name__)

_heartbeats: list[Heartbeat] = []


def worker_role() -> str:
    return runtime.INFERENCE_ROLE if runtime.is_inference_worker() else CPU_ROLE.name


@worker_init.connect
def _clear_metric_files(**_: Any) -> None:
    exporter.clear_stale_files(keep_pid=os.getpid())


@worker_ready.connect
def _start_exporter_and_heartbeat(sender: Any, **_: Any) -> None:
    role = worker_role()
    # The heartbeat first: readiness and the sweeper depend on it, the metrics do not.
    _heartbeats.append(Heartbeat(role, sender.hostname).start())
    if settings.WORKER_METRICS_PORT:
        gpu = [GpuCollector()] if role == runtime.INFERENCE_ROLE else []
        port, address = settings.WORKER_METRICS_PORT, settings.WORKER_METRICS_ADDR
        try:
            exporter.start_exporter(port, address, gpu)
        except OSError as exc:
            logger.error("metrics exporter not started on %s:%s: %r", address, port, exc)


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


def _say_as_json(msg: str, f: TextIO | None = sys.__stderr__) -> None:
    """Celery's `safe_say` (shutdown notices), as a JSON line. It runs in signal handlers, so it
    writes to the file descriptor as Celery does, without logging's locks."""
    if f is None:  # a process started with no stderr at all: nowhere to say it
        return
    os.write(f.fileno(), json_line("celery.apps.worker", msg.strip()).encode() + b"\n")


if settings.LOG_FORMAT == "json":
    # celery.apps.worker defines safe_say; celery-types does not declare it.
    celery.apps.worker.safe_say = _say_as_json  # type: ignore[attr-defined]

    @celeryd_init.connect
    def _json_from_the_start(**_: Any) -> None:
        """The earliest a worker runs our code: JSON logging and warnings now (Celery warns
        right after this signal), and stdout and stderr through the log (as Celery does for its
        own format) before its tasks' libraries load: ultralytics prints when first imported."""
        configure_early(settings.LOGGING)
        redirected = logging.getLogger("celery.redirected")
        current_app.log.redirect_stdouts_to_logger(redirected, loglevel=logging.WARNING)

    @setup_logging.connect
    def _json_logging(**_: Any) -> None:
        """Connected, this keeps Celery from installing its own text handlers: Django's LOGGING
        (JSON) applies to the worker too."""
        configure_early(settings.LOGGING)

    @celeryd_after_setup.connect
    def _banner_as_json(sender: str, instance: Any, **_: Any) -> None:
        instance.quiet = True  # the text banner is printed right after this signal
        queues = ", ".join(instance.app.amqp.queues.consume_from)
        logger.info("worker %s starting: queues %s, concurrency %s", sender, queues,
                    instance.concurrency)  # fmt: skip
