"""Pipeline tasks: an image id in, one service call, retries only for transient errors.

Retries back off exponentially (PIPELINE_RETRY_BACKOFF_SECONDS * 2**n, capped) up to
PIPELINE_MAX_RETRIES; then the image fails with `retries_exhausted` and can be replayed
(`inspection.pipeline.replay`). Bad input never raises out of a task: the services end the image
with a reason instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings

from inspection.inference import runtime
from inspection.observability import celery_hooks  # noqa: F401 - connects the ops signals
from inspection.pipeline import infer, preprocess, sweeper, validate
from inspection.pipeline.claims import INFER, PREPROCESS, VALIDATE
from inspection.pipeline.completion import fail_image
from inspection.pipeline.errors import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300
# Seconds: (soft, hard). The lease (PIPELINE_LEASE_SECONDS) must outlast the hard limits.
PREPROCESS_LIMITS = (30, 60)
INFER_LIMITS = (60, 90)
VALIDATE_LIMITS = (30, 60)
SWEEP_LIMITS = (60, 120)


@worker_init.connect
def _prepare_worker(sender: Any, **_: Any) -> None:
    runtime.on_worker_start(sender)


@worker_process_init.connect
def _load_models(**_: Any) -> None:
    runtime.on_worker_process_init()


def backoff_seconds(retries: int) -> int:
    return int(min(settings.PIPELINE_RETRY_BACKOFF_SECONDS * 2**retries, MAX_BACKOFF_SECONDS))


def run_with_retries(task: Task, service: Callable[[str], object], image_id: str) -> None:
    try:
        service(image_id)
    except TRANSIENT_ERRORS as exc:
        if task.request.retries >= settings.PIPELINE_MAX_RETRIES:
            fail_image(image_id, "retries_exhausted", repr(exc), task.name)
            return
        logger.warning(
            "transient error, retry %d: %r [task=%s image_id=%s]",
            task.request.retries + 1,
            exc,
            task.name,
            image_id,
        )
        raise task.retry(exc=exc, countdown=backoff_seconds(task.request.retries)) from exc


@shared_task(
    bind=True,
    name=PREPROCESS.task,
    max_retries=None,
    soft_time_limit=PREPROCESS_LIMITS[0],
    time_limit=PREPROCESS_LIMITS[1],
)
def preprocess_image(self: Task, image_id: str) -> None:
    run_with_retries(self, preprocess.preprocess_image, image_id)


@shared_task(
    bind=True,
    name=INFER.task,
    max_retries=None,
    soft_time_limit=INFER_LIMITS[0],
    time_limit=INFER_LIMITS[1],
)
def infer_image(self: Task, image_id: str) -> None:
    run_with_retries(self, infer.infer_image, image_id)


@shared_task(
    bind=True,
    name=VALIDATE.task,
    max_retries=None,
    soft_time_limit=VALIDATE_LIMITS[0],
    time_limit=VALIDATE_LIMITS[1],
)
def validate_image(self: Task, image_id: str) -> None:
    run_with_retries(self, validate.validate_image, image_id)


@shared_task(
    name="inspection.sweep_stalled",
    soft_time_limit=SWEEP_LIMITS[0],
    time_limit=SWEEP_LIMITS[1],
)
def sweep_stalled() -> None:
    sweeper.sweep_stalled()
