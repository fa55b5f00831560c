"""The one stage runner: claim, run the body, end the claims.

Every stage runs through `run_claims`: preprocessing and validation claim one image (the next in
fair order), inference claims a batch. A body either finishes its claims itself (claims.finish)
or raises: StageFailed ends the image `failed` with its reason; a transient error (database,
broker, storage) gives the claims back and is raised to the task, which leaves the images to the
sweeper; anything else is a bug or a bad input: one image fails with the stage's error reason,
and a batch goes back image by image with the attempt counted, so only the image at fault fails
(an image on its second attempt is always claimed alone). While the body runs, the process keeps
the claims' leases alive (`lease_keeper`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from inspection.observability import hooks
from inspection.pipeline import claims, lease_keeper
from inspection.pipeline.claims import Claim, Stage
from inspection.pipeline.enqueue import send_now
from inspection.pipeline.errors import TRANSIENT_ERRORS, StageFailed
from inspection.pipeline.failures import fail_claimed
from inspection.pipeline.fairness import claim_fairly
from inspection.pipeline.logs import ImageLog, image_log

logger = logging.getLogger("inspection.pipeline")

Body = Callable[[Claim, ImageLog], None]
# A batch body returns how many of its claims it carried to the next stage.
BatchBody = Callable[[list[Claim]], int]


def run_stage(stage: Stage, image_id: Any, body: Body, error_reason: str) -> bool:
    """Run a one-image stage for the image next in fair order (the message's `image_id`, or
    another's turn first: pipeline/fairness.py); False when nothing was waiting (a no-op)."""
    claimed = claim_fairly(stage)

    def one(batch: list[Claim]) -> int:
        body(batch[0], claim_log(batch[0]))
        return 1

    run_claims(stage, image_id, claimed, one, error_reason)
    return bool(claimed)


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
    # Each image's share of the stage's time, a failed image's too.
    per_image = (time.perf_counter() - started) / len(active)
    for _ in active:
        hooks.stage_ran(stage.name, per_image)
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
    send_now(stage, [claim.image_id for claim in batch])


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
