"""Fair claiming: which waiting image a stage takes next.

Facilities take turns: the next claim goes to the facility whose last turn at this stage is
oldest (a facility never served comes first), and within a facility the oldest image goes first.
A stage message names an image, but the worker takes whichever image is next in this order. Every
image that starts waiting at a stage sends one message and every message claims at least one
image while any is waiting, so no image is left without a message to take it; and a facility's
500-image batch no longer holds another facility's 1-image batch behind it.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from inspection.models import Facility, Image, StageTurn
from inspection.pipeline import backpressure, batch_claim_sql, claims
from inspection.pipeline.claims import CLAIM_FIELDS, Claim, Stage
from inspection.pipeline.enqueue import send_now

# Candidates read per facility beyond what is wanted: other workers may claim some first.
SPARE_CANDIDATES = 3


def claim_batch(stage: Stage, count: int | None = None) -> list[Claim]:
    """Claim the next batch at `stage` (up to `count`, default the stage's batch size) in fair
    order, under one token. An image on a later attempt is claimed alone (a poison image fails
    by itself); while several facilities wait, at most one image each. One statement on
    PostgreSQL (batch_claim_sql); row by row elsewhere.

    Messages are sent one per stage batch size of images: a claim cut below that while more
    images wait sends one more message for them, so none is left without one. A claim is cut by
    the facilities' turns, the inference time budget, or another process claiming at the same
    moment (the images it has locked are skipped: two CPU pool processes taking two messages at
    once left two of 120 images waiting with no message until the sweeper's re-send). A claim
    that took nothing while images wait sends one too. At preprocessing, a facility whose
    window is full (backpressure.py) is passed over, and its held images are marked for the
    wake-up instead of being sent a message."""
    count = count or stage.batch_size
    token = uuid.uuid4()
    if connection.vendor == "postgresql":
        claimed, candidates = _claim_in_one_statement(stage, count, token)
    else:
        claimed = _claim_row_by_row(stage, count, token)
        candidates = len(claimed) + int(_claimable(stage, False).exists())
        if not claimed:
            _send_if_any_waiting(stage)
    if claimed and claimed[0].attempt == 1 and len(claimed) < stage.batch_size:
        if candidates > len(claimed):
            send_now(stage, [claimed[0].image_id])
    return claimed


def _claim_in_one_statement(stage: Stage, count: int, token: uuid.UUID) -> tuple[list[Claim], int]:
    """The claimed batch and how many candidates the statement read (PostgreSQL)."""
    now, window = timezone.now(), backpressure.window(stage)
    freed_before = backpressure.freed_so_far() if window is not None else None
    batch = batch_claim_sql.claim_rows(stage, count, token, claims.holder(), now, window)
    claimed = [claims.claim_of(stage, token, now, *row) for row in batch.rows]
    if batch.held_id is not None:
        # The held images need no message until their window has room.
        backpressure.hold(batch.held_id, batch.held_room, freed_before)
        if not claimed and batch.candidates:  # what it could take, another process took
            send_now(stage, [batch.held_id])
    elif not claimed:
        _send_if_any_waiting(stage)
    return claimed, batch.candidates


def _send_if_any_waiting(stage: Stage) -> None:
    """A message that claimed nothing while images still wait: another process took what this
    claim had read (SQLite's row-by-row claims: two CPU processes, one took a whole batch while
    the other's message claimed nothing and two images of six waited with no message), so
    their message must be replaced. A message finding nothing otherwise costs this one read."""
    waiting = _claimable(stage, False).values_list("id", flat=True).first()
    if waiting is not None:
        send_now(stage, [waiting])


def _claim_row_by_row(stage: Stage, count: int, token: uuid.UUID) -> list[Claim]:
    """The same batch as the one statement, claimed row by row (SQLite)."""
    facilities = len(facilities_in_turn(stage))
    first = claim_fairly(stage, 1, token=token)
    if not first or first[0].attempt > 1:
        return first
    cap = min(count, facilities) if facilities > 1 else count
    if cap == 1:
        return first
    return first + claim_fairly(stage, cap - 1, fresh_only=True, token=token)


def claim_fairly(
    stage: Stage, count: int = 1, fresh_only: bool = False, token: uuid.UUID | None = None
) -> list[Claim]:
    """Claim up to `count` images waiting at `stage`, one facility at a time in turn order.
    `fresh_only`: only images on their first attempt (neighbours of an inference batch)."""
    claimed: list[Claim] = []
    served: set[int] = set()
    for facility_id, row in _in_turn(stage, count, fresh_only):
        claim = claims.claim_row(stage, row, token)
        if claim is not None:
            claimed.append(claim)
            served.add(facility_id)
            if len(claimed) >= count:
                break
    _record_turns(stage, served, claimed[0].claimed_at if claimed else timezone.now())
    return claimed


def _in_turn(stage: Stage, count: int, fresh_only: bool) -> Iterator[tuple[int, dict[str, Any]]]:
    """Candidate rows, round robin over the facilities in turn order; a facility's rows are
    read only when its turn comes."""
    pending: dict[int, deque[dict[str, Any]] | None] = dict.fromkeys(
        facilities_in_turn(stage, fresh_only)
    )
    while pending:
        for facility_id in list(pending):
            rows = pending[facility_id]
            if rows is None:
                rows = pending[facility_id] = deque(
                    _oldest(stage, facility_id, count + SPARE_CANDIDATES, fresh_only)
                )
            if not rows:
                del pending[facility_id]
                continue
            yield facility_id, rows.popleft()


def facilities_in_turn(stage: Stage, fresh_only: bool = False) -> list[int]:
    """Facilities with an image waiting at the stage, the one whose turn is oldest first."""
    waiting = _claimable(stage, fresh_only).filter(facility_id=OuterRef("pk"))
    turns = StageTurn.objects.filter(facility_id=OuterRef("pk"), stage=stage.name)
    ordered = (
        Facility.objects.filter(Exists(waiting))
        .annotate(served_at=Subquery(turns.values("served_at")[:1]))
        .order_by(F("served_at").asc(nulls_first=True), "pk")
    )
    return list(ordered.values_list("pk", flat=True))


def _oldest(stage: Stage, facility_id: int, limit: int, fresh_only: bool) -> list[dict[str, Any]]:
    rows = _claimable(stage, fresh_only).filter(facility_id=facility_id)
    return list(rows.order_by("created_at", "position").values(*CLAIM_FIELDS)[:limit])


def _claimable(stage: Stage, fresh_only: bool) -> QuerySet[Image]:
    rows = Image.objects.filter(claims.claimable(stage))
    return rows.filter(attempts=0) if fresh_only else rows


def _record_turns(stage: Stage, facility_ids: set[int], at: datetime) -> None:
    if not facility_ids:
        return
    StageTurn.objects.bulk_create(
        [StageTurn(facility_id=f, stage=stage.name, served_at=at) for f in facility_ids],
        update_conflicts=True,
        unique_fields=["facility", "stage"],
        update_fields=["served_at"],
    )
