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

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    DateTimeField,
    ExpressionWrapper,
    F,
    Field,
    ForeignKey,
    Q,
    Value,
    When,
)
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


def claim_row(stage: Stage, row: dict[str, Any], token: uuid.UUID | None = None) -> Claim | None:
    """Claim a row read a moment ago, only if nobody changed it since (same attempts/updated_at).
    Claims of one batch may share a token."""
    now = timezone.now()  # after the read: the claim never predates the row's last change
    token = token or uuid.uuid4()
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
        timings=_with_wait(stage, dict(row["timings"] or {}), row["updated_at"], now),
    )


def claim_of(
    stage: Stage,
    token: uuid.UUID,
    now: datetime,
    image_id: Any,
    batch_id: Any,
    attempt: int,
    waiting_since: datetime,
    timings: Any,
) -> Claim:
    """A claim from a row a batch claim returned (timings as stored: JSON text or a dict)."""
    if isinstance(timings, str):
        timings = json.loads(timings)
    timings = _with_wait(stage, dict(timings or {}), waiting_since, now)
    return Claim(stage, image_id, batch_id, attempt, token, now, waiting_since, timings)


def _with_wait(
    stage: Stage, timings: dict[str, Any], waiting_since: datetime, now: datetime
) -> dict[str, Any]:
    """The timings with how long the image waited for this stage's claim (`preprocess_wait_ms`,
    `infer_wait_ms`, `validate_wait_ms`): where an image's end-to-end time goes between stages."""
    waited = round((now - waiting_since).total_seconds() * 1000, 1)
    return {**timings, f"{stage.name}_wait_ms": waited}


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


def fence_of(held: Sequence[Claim]) -> Q:
    """The rows of a batch still held under its claims (a token is issued for one image's claim,
    or shared by one batch claim: it never names another image's row)."""
    stage = held[0].stage
    ids = [claim.image_id for claim in held]
    return Q(id__in=ids, status=stage.leased, claim_token__in={claim.token for claim in held})


def still_held(held: Sequence[Claim]) -> list[Claim]:
    """Lock the batch's rows still under its claims (inside a transaction) and return those
    claims: what the batch writes, it writes for these only."""
    if not held:
        return []
    rows = Image.objects.select_for_update().filter(fence_of(held))
    ids = set(rows.values_list("id", flat=True))
    return [claim for claim in held if claim.image_id in ids]


def finish_many(
    held: Sequence[Claim],
    status: str | None,
    per_image: Mapping[Any, Mapping[str, Any]] | None = None,
    **fields: Any,
) -> int:
    """End the stage for a batch in one UPDATE, like `finish` for each claim: `fields` are the
    same for every image, `per_image` (image id -> fields, the same names for each) differ.
    `status` None: each image's own, in `per_image`. Returns how many rows were still held."""
    if not held:
        return 0
    varying = _varying(per_image or {})
    if status is not None:
        varying["status"] = Value(status)
    changed = Image.objects.filter(fence_of(held)).update(
        attempts=0,
        resends=0,
        resent_at=None,
        updated_at=timezone.now(),
        **_ended(),
        **fields,
        **varying,
    )
    return int(changed)


def _varying(per_image: Mapping[Any, Mapping[str, Any]]) -> dict[str, Any]:
    """Each per-image field as one CASE over the batch's ids."""
    names = {name for values in per_image.values() for name in values}
    cases: dict[str, Any] = {}
    for name in names:
        field = Image._meta.get_field(name)
        # A foreign key's value (`model_version_id`) has the type of the key it points to.
        output = field.target_field if isinstance(field, ForeignKey) else field
        assert isinstance(output, Field), name
        whens = [
            When(id=image_id, then=Value(values[name], output_field=output))
            for image_id, values in per_image.items()
            if name in values
        ]
        cases[name] = Case(*whens, default=F(name), output_field=output)
    return cases


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
