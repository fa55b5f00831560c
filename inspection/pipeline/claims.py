"""Claiming, finishing and releasing one image for one stage, by conditional UPDATE.

A claim moves an image from the stage's waiting status (or from its leased status when the lease
has expired) to the leased status, adds one to `attempts` and sets a lease. The claim's
(status, attempts, lease_expires_at) triple is its fencing token: finishing, releasing or failing
under a claim only changes the row while the token still matches, so a worker whose lease was
taken over can never overwrite the newer attempt. `attempts` counts attempts at the current
stage: finishing a stage resets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from inspection.models import Image

Status = Image.Status


@dataclass(frozen=True)
class Stage:
    name: str
    task: str
    waiting: str
    leased: str


PREPROCESS = Stage("preprocess", "inspection.preprocess_image", Status.QUEUED, Status.PREPROCESSING)
INFER = Stage("infer", "inspection.infer_image", Status.PREPROCESSED, Status.INFERRING)
VALIDATE = Stage("validate", "inspection.validate_image", Status.INFERRED, Status.VALIDATING)
STAGES = (PREPROCESS, INFER, VALIDATE)
STAGE_BY_STATUS = {status: stage for stage in STAGES for status in (stage.waiting, stage.leased)}

CLAIM_FIELDS = ("id", "batch_id", "attempts", "updated_at", "timings")


@dataclass(frozen=True)
class Claim:
    stage: Stage
    image_id: Any
    batch_id: Any
    attempt: int
    lease_expires_at: datetime
    claimed_at: datetime
    waiting_since: datetime  # when the image entered the stage's waiting status
    timings: dict[str, Any] = field(default_factory=dict)

    def fence(self) -> Q:
        return Q(
            id=self.image_id,
            status=self.stage.leased,
            attempts=self.attempt,
            lease_expires_at=self.lease_expires_at,
        )


def claimable(stage: Stage, now: datetime) -> Q:
    return Q(status=stage.waiting) | Q(status=stage.leased, lease_expires_at__lt=now)


def lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.PIPELINE_LEASE_SECONDS)


def claim(stage: Stage, image_id: Any) -> Claim | None:
    """Claim one image for a stage; None when another worker has it or it is past this stage."""
    now = timezone.now()
    row = Image.objects.filter(claimable(stage, now), id=image_id).values(*CLAIM_FIELDS).first()
    return claim_row(stage, row) if row else None


def claim_row(stage: Stage, row: dict[str, Any]) -> Claim | None:
    """Claim a row read a moment ago, only if nobody changed it since (same attempts/updated_at)."""
    now = timezone.now()  # after the read: the claim never predates the row's last change
    lease = lease_until(now)
    changed = Image.objects.filter(
        claimable(stage, now), id=row["id"], attempts=row["attempts"], updated_at=row["updated_at"]
    ).update(
        status=stage.leased, attempts=row["attempts"] + 1, lease_expires_at=lease, updated_at=now
    )
    if changed != 1:
        return None
    return Claim(
        stage=stage,
        image_id=row["id"],
        batch_id=row["batch_id"],
        attempt=row["attempts"] + 1,
        lease_expires_at=lease,
        claimed_at=now,
        waiting_since=row["updated_at"],
        timings=dict(row["timings"] or {}),
    )


def over_attempt_cap(claim: Claim) -> bool:
    return claim.attempt > settings.PIPELINE_MAX_ATTEMPTS


def finish(claim: Claim, status: str, **fields: Any) -> bool:
    """End the stage under the claim: to the next status, attempts back to 0, lease cleared."""
    now = timezone.now()
    fields.setdefault("timings", claim.timings)
    changed = Image.objects.filter(claim.fence()).update(
        status=status, attempts=0, lease_expires_at=None, updated_at=now, **fields
    )
    return changed == 1


def release(claim: Claim, refund: bool) -> bool:
    """Give the image back to the stage's waiting status. `refund` un-counts the attempt (a
    transient error is not the image's fault); without it the attempt stays counted, so the
    image is retried alone (see batching)."""
    attempts = claim.attempt - 1 if refund else claim.attempt
    changed = Image.objects.filter(claim.fence()).update(
        status=claim.stage.waiting,
        attempts=attempts,
        lease_expires_at=None,
        updated_at=timezone.now(),
    )
    return changed == 1
