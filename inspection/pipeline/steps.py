"""The one stage runner: claim a batch, run the body, end the claims.

Every stage runs through `run_batch`: its message claims the next batch at the stage in fair
order (pipeline/fairness.py; up to the stage's batch size, an image on a later attempt alone),
and the body works on the batch and finishes it with a few statements (claims.finish_many) and
one message for the next stage. Within a body each image is handled on its own (`per_image`):
StageFailed ends that image `failed` with its reason, an unexpected error ends it with the
stage's error reason, and the batch goes on. A transient error (database, broker, storage) gives
every claim back and is raised to the task, which leaves the images to the sweeper. Anything
else that escapes the body (the model crashing on a batch): one image fails with the stage's
error reason, and a batch goes back image by image with the attempt counted, so each is retried
alone and only the image at fault fails. While the body runs, the process keeps the claims'
leases alive (`lease_keeper`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from inspection.observability import hooks
from inspection.pipeline import backpressure, claims, lease_keeper
from inspection.pipeline.claims import Claim, Stage
from inspection.pipeline.enqueue import send_each
from inspection.pipeline.errors import TRANSIENT_ERRORS, StageFailed
from inspection.pipeline.failures import fail_claimed
from inspection.pipeline.fairness import claim_batch
from inspection.pipeline.logs import ImageLog, image_log

logger = logging.getLogger("inspection.pipeline")

# A batch body returns how many of its claims it carried to the next stage.
BatchBody = Callable[[list[Claim]], int]
T = TypeVar("T")


def run_batch(stage: Stage, image_id: Any, body: BatchBody, error_reason: str) -> int:
    """Claim the next batch at the stage (the message's `image_id` among it when it is its
    turn) and run `body` on it; returns what the body returned (0: nothing was waiting)."""
    return run_claims(stage, image_id, claim_batch(stage), body, error_reason)


def per_image(claim: Claim, work: Callable[[], T], error_reason: str) -> T | None:
    """One image's work inside a batch body: its result, or None when the image was failed
    (StageFailed's reason, or the stage's error reason for an unexpected error). Transient
    errors are raised: the runner gives the whole batch back."""
    try:
        return work()
    except StageFailed as stop:
        fail_claimed(claim, stop.reason, stop.detail, stop.fields)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        claim_log(claim).exception("%s failed unexpectedly", claim.stage.name)
        fail_claimed(claim, error_reason, repr(exc))
    return None


def run_claims(
    stage: Stage, image_id: Any, claimed: list[Claim], body: BatchBody, error_reason: str
) -> int:
    """Run `body` on the claims that are still under the attempt cap; returns what the body
    returned (0 when nothing was claimed, every claim was capped, or the body raised)."""
    if not claimed:
        image_log(logger, stage.task, image_id).debug("nothing to claim")
        return 0
    for claim in claimed:
        hooks.claimed(claim)
    active = [claim for claim in claimed if not _capped(claim)]
    if not active:
        return 0
    started = time.perf_counter()
    done = 0
    try:
        with lease_keeper.holding(active):
            done = body(active)
    except StageFailed as stop:
        for claim in active:
            fail_claimed(claim, stop.reason, stop.detail, stop.fields)
    except TRANSIENT_ERRORS as exc:
        for claim in active:
            release_quietly(claim, claim_log(claim), refund=not_the_images_fault(exc))
        raise
    except Exception as exc:
        _isolate(stage, active, exc, error_reason)
    backpressure.after_batch(stage, len(active), done)
    # Each image's share of the stage's time, a failed image's too.
    share = (time.perf_counter() - started) / len(active)
    for _ in active:
        hooks.stage_ran(stage.name, share)
    return done


def _capped(claim: Claim) -> bool:
    if claims.over_attempt_cap(claim):
        detail = f"{claim.attempt - 1} attempts at {claim.stage.name}"
        fail_claimed(claim, "attempts_exhausted", detail)
        return True
    return False


def _isolate(stage: Stage, batch: list[Claim], exc: Exception, error_reason: str) -> None:
    """A body that blew up: alone, the image fails; together, every image goes back with its
    attempt counted, so each is retried alone and only the poison one fails."""
    if len(batch) == 1:
        claim_log(batch[0]).exception("%s failed unexpectedly", stage.name)
        fail_claimed(batch[0], error_reason, repr(exc))
        return
    logger.exception("%s failed for a batch of %d", stage.name, len(batch))
    for claim in batch:
        release_quietly(claim, claim_log(claim), refund=False)
    send_each(stage, [claim.image_id for claim in batch])


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


def claim_log(claim: Claim) -> ImageLog:
    return image_log(logger, claim.stage.task, claim.image_id, claim.batch_id)
