"""Publishing stage messages. A message stands for a batch: it names the first image of up to
the stage's batch size, and the worker that takes it claims the next batch in fair order
(pipeline/fairness.py), not necessarily the images it names; images waiting for a stage need one
message per batch size of them, and an image on a later attempt (claimed alone) one of its own.
Messages carry ids only, are sent after the database commit, and use deterministic task ids;
duplicates are harmless because every stage claims its work with a conditional update.

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


def send_now(stage: Stage, image_ids: Iterable[object]) -> int:
    """One message per batch of the stage's batch size, after the current transaction commits.
    Returns how many messages that is."""
    return _after_commit(stage, [ids[0] for ids in batches(stage, image_ids)])


def send_each(stage: Stage, image_ids: Iterable[object]) -> int:
    """One message per image: images on a later attempt, which are claimed alone."""
    return _after_commit(stage, [str(image_id) for image_id in image_ids])


def batches(stage: Stage, image_ids: Iterable[object]) -> list[list[str]]:
    ids = [str(image_id) for image_id in image_ids]
    size = stage.batch_size
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _after_commit(stage: Stage, first_ids: list[str]) -> int:
    if first_ids:
        transaction.on_commit(partial(_send, stage, first_ids))
    return len(first_ids)


def _send(stage: Stage, first_ids: list[str]) -> None:
    for sent, image_id in enumerate(first_ids):
        try:
            send(stage.task, image_id, stage.queue, f"{stage.name}:{image_id}", 0, stage.priority)
        except Exception as exc:  # the broker is away: the sweeper sends what is missing
            logger.warning(
                "broker unavailable, %d %s message(s) left to the sweeper: %r",
                len(first_ids) - sent,
                stage.name,
                exc,
            )
            return


def enqueue_preprocess(image_ids: Iterable[object]) -> int:
    return send_now(PREPROCESS, image_ids)


def enqueue_infer(image_ids: Iterable[object]) -> int:
    return send_now(INFER, image_ids)


def enqueue_validate(image_ids: Iterable[object]) -> int:
    return send_now(VALIDATE, image_ids)
