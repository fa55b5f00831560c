"""Claiming, finishing and releasing images for a stage, by conditional UPDATE.

A claim moves an image from the stage's waiting status (or from its held status when the lease
has expired) to the held status, adds one to `attempts`, and writes a new `claim_token`, a lease
and the holder (`leased_by`: the worker node and process). The token is the fence: finishing,
releasing or failing under a claim only changes the row while it still carries that token, so a
worker whose lease was taken over can never overwrite the newer attempt. `attempts` counts
attempts at the current stage: finishing a stage resets it.

Leases are read and written in the database's clock (`Now()`), never a worker's: hosts whose
clocks disagree cannot take healthy work from each other. A worker process renews the leases it
holds while it works (`lease_keeper`), so a lease is short (PIPELINE_LEASE_SECONDS) and a dead
worker's work is free again within seconds; a restarted worker frees its previous incarnation's
at once (`release_previous_incarnation`).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import DateTimeField, ExpressionWrapper, Q
from django.db.models.functions import Now
from django.utils import timezone

from inspection.models import Image
from inspection.pipeline.stages import INFER, PREPROCESS, STAGES, VALIDATE, Stage

__all__ = ["INFER", "PREPROCESS", "STAGES", "VALIDATE", "Claim", "Stage"]

CLAIM_FIELDS = ("id", "batch_id", "attempts", "updated_at", "timings")
# Set by the worker's main process at start (its Celery node name); pool processes inherit it.
NODE_ENV = "INSPECTION_WORKER_NODE"


@dataclass(frozen=True)
class Claim:
    stage: Stage
    image_id: Any
    batch_id: Any
    attempt: int
    token: uuid.UUID
    claimed_at: datetime
    waiting_since: datetime  # when the image entered the stage's waiting status
    timings: dict[str, Any] = field(default_factory=dict)

    def fence(self) -> Q:
        return Q(id=self.image_id, status=self.stage.leased, claim_token=self.token)


def lease_expiry() -> ExpressionWrapper:
    """The end of a lease from now, in the database's clock."""
    lease = timedelta(seconds=settings.PIPELINE_LEASE_SECONDS)
    return ExpressionWrapper(Now() + lease, output_field=DateTimeField())


def expired_lease() -> Q:
    return Q(lease_expires_at__lt=Now())


def claimable(stage: Stage) -> Q:
    return Q(status=stage.waiting) | (Q(status=stage.leased) & expired_lease())


def holder() -> str:
    """Who holds a claim: `<celery node>/<pid>` in a worker, `<host>/<pid>` elsewhere."""
    return f"{os.environ.get(NODE_ENV) or os.uname().nodename}/{os.getpid()}"


def claim_row(stage: Stage, row: dict[str, Any]) -> Claim | None:
    """Claim a row read a moment ago, only if nobody changed it since (same attempts/updated_at)."""
    now = timezone.now()  # after the read: the claim never predates the row's last change
    token = uuid.uuid4()
    changed = Image.objects.filter(
        claimable(stage), id=row["id"], attempts=row["attempts"], updated_at=row["updated_at"]
    ).update(
        status=stage.leased,
        attempts=row["attempts"] + 1,
        claim_token=token,
        leased_by=holder(),
        lease_expires_at=lease_expiry(),
        # A message was taken: should the image wait again, it needs a new one at once.
        resends=0,
        resent_at=None,
        updated_at=now,
    )
    if changed != 1:
        return None
    return Claim(
        stage=stage,
        image_id=row["id"],
        batch_id=row["batch_id"],
        attempt=row["attempts"] + 1,
        token=token,
        claimed_at=now,
        waiting_since=row["updated_at"],
        timings=dict(row["timings"] or {}),
    )


def over_attempt_cap(claim: Claim) -> bool:
    return claim.attempt > settings.PIPELINE_MAX_ATTEMPTS


def _ended() -> dict[str, Any]:
    return {"lease_expires_at": None, "claim_token": None, "leased_by": ""}


def finish(claim: Claim, status: str, **fields: Any) -> bool:
    """End the stage under the claim: to the next status, attempts back to 0, lease cleared,
    the sweeper's re-send count too (it counts per stage)."""
    fields.setdefault("timings", claim.timings)
    changed = Image.objects.filter(claim.fence()).update(
        status=status,
        attempts=0,
        resends=0,
        resent_at=None,
        updated_at=timezone.now(),
        **_ended(),
        **fields,
    )
    return changed == 1


def release(claim: Claim, refund: bool) -> bool:
    """Give the image back to the stage's waiting status. `refund` un-counts the attempt (a
    database or broker outage is not the image's fault); without it the attempt stays counted,
    so the image is retried alone (see batching) and the attempt cap can end it."""
    attempts = claim.attempt - 1 if refund else claim.attempt
    changed = Image.objects.filter(claim.fence()).update(
        status=claim.stage.waiting, attempts=attempts, updated_at=timezone.now(), **_ended()
    )
    return changed == 1


def renew(tokens: list[uuid.UUID]) -> int:
    """Extend the leases still held under these claims; returns how many were."""
    if not tokens:
        return 0
    held = Q(status__in=Image.LEASED, claim_token__in=tokens)
    return Image.objects.filter(held).update(lease_expires_at=lease_expiry())


def release_held_by(holders: Q) -> list[Any]:
    """Free the images held by workers known to be gone (their attempt stays counted: a poison
    image that kills its worker reaches the attempt cap). Returns the freed image ids."""
    freed: list[Any] = []
    for stage in STAGES:
        rows = Image.objects.filter(holders, status=stage.leased)
        ids = list(rows.values_list("id", flat=True))
        if ids:
            Image.objects.filter(holders, status=stage.leased, id__in=ids).update(
                status=stage.waiting, updated_at=timezone.now(), **_ended()
            )
            freed += ids
    return freed


def release_previous_incarnation(node: str) -> list[Any]:
    """A worker node that (re)starts frees what its earlier processes still held: they are dead."""
    return release_held_by(Q(leased_by__startswith=f"{node}/"))
