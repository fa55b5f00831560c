"""Publishing stage messages. Messages carry ids only, are sent after the database commit, and
use deterministic task ids; duplicates are harmless because every stage claims its work with a
conditional update, and the worker takes whichever image is next in fair order
(pipeline/fairness.py), not necessarily the one the message names.

A broker that cannot take a message is logged, never raised: the rows are committed (the
submission answers 202 with its batch), and the sweeper sends the missing messages once the
broker answers again."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from django.db import transaction

from inspection.messaging import send
from inspection.pipeline.stages import INFER, PREPROCESS, VALIDATE, Stage

logger = logging.getLogger(__name__)

PREPROCESS_TASK, INFER_TASK, VALIDATE_TASK = PREPROCESS.task, INFER.task, VALIDATE.task


def send_now(stage: Stage, image_ids: Iterable[object]) -> None:
    """One message per image for the stage, after the current transaction commits."""
    ids = [str(image_id) for image_id in image_ids]
    if ids:
        transaction.on_commit(partial(_send, stage, ids))


def _send(stage: Stage, image_ids: list[str]) -> None:
    for sent, image_id in enumerate(image_ids):
        try:
            send(stage.task, image_id, stage.queue, f"{stage.name}:{image_id}", 0, stage.priority)
        except Exception as exc:  # the broker is away: the sweeper sends what is missing
            logger.warning(
                "broker unavailable, %d %s message(s) left to the sweeper: %r",
                len(image_ids) - sent,
                stage.name,
                exc,
            )
            return


def enqueue_preprocess(image_ids: Iterable[object]) -> None:
    send_now(PREPROCESS, image_ids)


def enqueue_infer(image_ids: Iterable[object]) -> None:
    send_now(INFER, image_ids)


def enqueue_validate(image_ids: Iterable[object]) -> None:
    send_now(VALIDATE, image_ids)
