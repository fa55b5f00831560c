"""Pipeline tasks: an image id in, one service call, limits from the stage definitions.

A database or broker outage (or a storage hiccup) during a task neither retries the message nor
fails an image: the stage gives its claim back, the message is dropped, and the sweeper sends a
message for every waiting image that has none once the outage is over. No image fails for
having waited; bad input never raises out of a task (the services end the image with a reason).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.signals import worker_init, worker_process_init

from inspection import task_names
from inspection.inference import runtime
from inspection.observability import celery_hooks  # noqa: F401 - connects the ops signals
from inspection.pipeline import infer, preprocess, sweeper, validate, worker_start
from inspection.pipeline.errors import TRANSIENT_ERRORS
from inspection.pipeline.stages import INFER, PREPROCESS, VALIDATE, Stage

logger = logging.getLogger(__name__)

SWEEP_LIMITS = (60, 120)


@worker_init.connect
def _prepare_worker(sender: Any, **_: Any) -> None:
    worker_start.on_worker_start(sender)
    runtime.on_worker_start(sender)


@worker_process_init.connect
def _start_process(**_: Any) -> None:
    worker_start.on_process_start()
    runtime.on_worker_process_init()
    worker_start.on_process_ready()


def run(stage: Stage, service: Callable[[str], object], image_id: str) -> None:
    try:
        service(image_id)
    except TRANSIENT_ERRORS as exc:
        logger.warning(
            "%s deferred to the sweeper (%r) [task=%s image_id=%s]",
            stage.name,
            exc,
            stage.task,
            image_id,
        )


def _limits(stage: Stage) -> dict[str, Any]:
    return {"name": stage.task, "soft_time_limit": stage.soft_limit, "time_limit": stage.hard_limit}


@shared_task(**_limits(PREPROCESS))
def preprocess_image(image_id: str) -> None:
    run(PREPROCESS, preprocess.preprocess_image, image_id)


@shared_task(**_limits(INFER))
def infer_image(image_id: str) -> None:
    run(INFER, infer.infer_image, image_id)


@shared_task(**_limits(VALIDATE))
def validate_image(image_id: str) -> None:
    run(VALIDATE, validate.validate_image, image_id)


@shared_task(
    name=task_names.SWEEP_STALLED, soft_time_limit=SWEEP_LIMITS[0], time_limit=SWEEP_LIMITS[1]
)
def sweep_stalled() -> None:
    sweeper.sweep_stalled()
