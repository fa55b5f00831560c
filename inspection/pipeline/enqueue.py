"""Publishing stage messages. Messages carry ids only, are sent after the database commit, and
use deterministic task ids; duplicates are harmless because every stage claims its work with a
conditional update, and the worker takes whichever image is next in fair order
(pipeline/fairness.py), not necessarily the one the message names."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.db import transaction

from inspection.messaging import send

PREPROCESS_TASK = "inspection.preprocess_image"
INFER_TASK = "inspection.infer_image"
VALIDATE_TASK = "inspection.validate_image"
# Preprocessing is the one stage whose messages arrive in bulk (a whole submission at once): on
# the CPU queue they go behind everything else there (validation, which finishes images, webhooks
# and the sweeper), so none of that waits behind another facility's backlog.
BACKLOG_PRIORITY = 3


def _send(task_name: str, queue: str, image_ids: list[str], priority: int = 0) -> None:
    stage = task_name.rsplit(".", 1)[-1]
    for image_id in image_ids:
        send(task_name, image_id, queue, task_id=f"{stage}:{image_id}", priority=priority)


def _after_commit(
    task_name: str, queue: str, image_ids: Iterable[object], priority: int = 0
) -> None:
    ids = [str(image_id) for image_id in image_ids]
    if ids:
        transaction.on_commit(partial(_send, task_name, queue, ids, priority))


def enqueue_preprocess(image_ids: Iterable[object]) -> None:
    _after_commit(PREPROCESS_TASK, settings.CPU_QUEUE_NAME, image_ids, BACKLOG_PRIORITY)


def enqueue_infer(image_ids: Iterable[object]) -> None:
    _after_commit(INFER_TASK, settings.INFERENCE_QUEUE_NAME, image_ids)


def enqueue_validate(image_ids: Iterable[object]) -> None:
    _after_commit(VALIDATE_TASK, settings.CPU_QUEUE_NAME, image_ids)
