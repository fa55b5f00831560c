"""The uniform shape of a stage: claim, run the body, end the claim.

A body takes the claim and a logger and either finishes the stage itself (claims.finish) or raises:
StageFailed ends the image `failed` with its reason; a transient error (database, broker,
storage) gives the claim back and is raised to the task, which leaves the image to the sweeper;
anything else is a bug or a bad input: the image fails with the stage's error reason, the worker
lives on. While the body runs, the process keeps the claim's lease alive (`lease_keeper`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from inspection.observability import hooks
from inspection.pipeline import claims, lease_keeper
from inspection.pipeline.claims import Claim, Stage
from inspection.pipeline.completion import fail_claimed
from inspection.pipeline.errors import TRANSIENT_ERRORS, StageFailed
from inspection.pipeline.fairness import claim_fairly
from inspection.pipeline.logs import ImageLog, image_log

logger = logging.getLogger("inspection.pipeline")

Body = Callable[[Claim, ImageLog], None]


def run_stage(stage: Stage, image_id: Any, body: Body, error_reason: str) -> bool:
    """Run one stage for the image next in fair order (the message's `image_id`, or another's
    turn first: pipeline/fairness.py); False when nothing was waiting (a no-op)."""
    claimed = claim_fairly(stage)
    if not claimed:
        image_log(logger, stage.task, image_id).debug("nothing to claim")
        return False
    claim = claimed[0]
    hooks.claimed(claim)
    log = image_log(logger, stage.task, image_id, claim.batch_id)
    if claims.over_attempt_cap(claim):
        fail_claimed(claim, "attempts_exhausted", f"{claim.attempt - 1} attempts at {stage.name}")
        return True
    started = time.perf_counter()
    try:
        with lease_keeper.holding([claim]):
            body(claim, log)
    except StageFailed as stop:
        fail_claimed(claim, stop.reason, stop.detail, stop.fields)
    except TRANSIENT_ERRORS as exc:
        release_quietly(claim, log, refund=not_the_images_fault(exc))
        raise
    except Exception as exc:
        log.exception("%s failed unexpectedly", stage.name)
        fail_claimed(claim, error_reason, repr(exc))
    hooks.stage_ran(stage.name, time.perf_counter() - started)  # a failed image's time too
    return True


def not_the_images_fault(exc: BaseException) -> bool:
    """A database, broker or network outage; not a local I/O error, which counts an attempt (a
    file the disk cannot read must reach the attempt cap, not loop forever)."""
    return not isinstance(exc, OSError) or isinstance(exc, ConnectionError)


def release_quietly(claim: Claim, log: ImageLog, refund: bool) -> None:
    """Best effort: when the database itself is down, the lease expires and the sweeper
    re-enqueues the image instead."""
    try:
        claims.release(claim, refund=refund)
    except Exception:
        log.warning("could not release the claim; the sweeper will pick it up after the lease")
