"""A fair batch claim in one PostgreSQL statement.

The statement does what `fairness.claim_fairly` does row by row, in one round trip: read the
claimable images of each facility that has any (oldest first, a few per facility), order them
round robin (every facility's first image, in the order of the facilities' last turns at the
stage, then every facility's second, ...), lock the first `count` that nobody else has locked
(SKIP LOCKED: two workers claiming at once take different images), claim them under one token
and record the facilities' turns. An image on a later attempt (released after a failure, or
whose holder died) is claimed alone: when the first image in order is one, the batch is that
image only, and other retries wait for their own turn; a poison image then fails by itself.
While several facilities have images waiting, a batch holds at most one image per facility (its
oldest, in turn order): no facility's image waits behind another's whole batch at any stage,
and each facility's share of a batch's time is one image; a facility alone fills its batches.
At preprocessing, a facility's fresh images are claimed only while its window has room
(backpressure.py): the images it holds back are neither claimed nor counted as candidates, and
one of them is returned for the held mark.

Returns the claimed rows with what they were before the claim (when they started waiting, their
timings). See fairness.claim_batch for the other databases. Times are the statement's
(`statement_timestamp()`, as Django's `Now()`), in the database's clock like every lease.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from inspection.models import Facility, Image, StageTurn
from inspection.pipeline.stages import INFER, Stage

CLAIM_SQL = """
WITH turns AS (
    SELECT f.id AS facility_id, t.served_at
    FROM {facility} f
    LEFT JOIN {turn} t ON t.facility_id = f.id AND t.stage = %(stage)s
),
waiting AS (
    SELECT c.id, c.attempts, c.facility_id, tu.served_at,
           row_number() OVER (PARTITION BY c.facility_id ORDER BY c.created_at, c.position)
               AS place
    FROM turns tu
    CROSS JOIN LATERAL (
        SELECT i.id, i.attempts, i.facility_id, i.created_at, i.position
        FROM {image} i
        WHERE i.facility_id = tu.facility_id
          AND i.status IN (%(waiting)s, %(leased)s)
          AND (i.status = %(waiting)s OR i.lease_expires_at < statement_timestamp())
        ORDER BY i.created_at, i.position
        LIMIT %(per_facility)s
    ) c
),
room AS (
    -- How many more fresh images each waiting facility may have claimed (NULL: no limit).
    SELECT f.facility_id, {room} AS room
    FROM (SELECT DISTINCT facility_id FROM waiting) f
),
candidates AS (
    SELECT w.id, w.attempts, w.facility_id, w.served_at, w.place
    FROM waiting w JOIN room r ON r.facility_id = w.facility_id
    WHERE r.room IS NULL OR w.attempts > 0 OR w.place <= r.room
),
held AS (
    SELECT w.id, w.facility_id
    FROM waiting w JOIN room r ON r.facility_id = w.facility_id
    WHERE r.room IS NOT NULL AND w.attempts = 0 AND w.place > r.room
),
ordered AS (
    SELECT id, attempts, facility_id,
           row_number() OVER (ORDER BY place, served_at NULLS FIRST, facility_id) AS turn
    FROM candidates
),
head AS (
    SELECT id, attempts FROM ordered ORDER BY turn LIMIT 1
),
cap AS (
    SELECT CASE
        WHEN (SELECT attempts FROM head) > 0 THEN 1
        WHEN (SELECT count(DISTINCT facility_id) FROM ordered) > 1
            THEN LEAST(%(count)s, (SELECT count(DISTINCT facility_id) FROM ordered))
        ELSE %(count)s
    END AS n
),
picked AS (
    SELECT i.id, i.facility_id, i.updated_at AS waiting_since, i.timings
    FROM {image} i
    JOIN ordered o ON o.id = i.id
    WHERE (o.id = (SELECT id FROM head)
           OR ((SELECT attempts FROM head) = 0 AND o.attempts = 0))
      -- Checked again on the row as it is when locked: a candidate another process claimed
      -- after this statement read it is passed over, not taken and then left unclaimed.
      AND (i.status = %(waiting)s
           OR (i.status = %(leased)s AND i.lease_expires_at < statement_timestamp()))
    ORDER BY o.turn
    LIMIT (SELECT n FROM cap)
    FOR UPDATE OF i SKIP LOCKED
),
claimed AS (
    UPDATE {image} i
    SET status = %(leased)s,
        attempts = i.attempts + 1,
        claim_token = %(token)s,
        leased_by = %(holder)s,
        lease_expires_at = statement_timestamp() + make_interval(secs => %(lease)s),
        resends = 0,
        resent_at = NULL,
        updated_at = %(now)s
    FROM picked p
    WHERE i.id = p.id
      AND (i.status = %(waiting)s
           OR (i.status = %(leased)s AND i.lease_expires_at < statement_timestamp()))
    RETURNING i.id, i.batch_id, i.attempts, i.facility_id, p.waiting_since, p.timings
),
turned AS (
    INSERT INTO {turn} (facility_id, stage, served_at)
    SELECT DISTINCT facility_id, %(stage)s, %(now)s FROM claimed
    ON CONFLICT (facility_id, stage) DO UPDATE SET served_at = EXCLUDED.served_at
)
SELECT c.id, c.batch_id, c.attempts, c.waiting_since, c.timings,
       s.candidates, s.held_id, s.held_room
FROM (
    SELECT (SELECT count(*) FROM ordered) AS candidates,
           (SELECT min(id::text) FROM held) AS held_id,
           -- The room the windows of facilities with held images have left after this claim.
           (SELECT max(r.room - (SELECT count(*) FROM claimed c
                                 WHERE c.facility_id = r.facility_id AND c.attempts = 1))
            FROM room r WHERE r.facility_id IN (SELECT facility_id FROM held)) AS held_room
) s
LEFT JOIN claimed c ON true
"""

# A facility's window (backpressure.py) less its images ahead of inference: preprocessing under
# a live lease, preprocessed, inferring. An expired lease does not count: its image is claimable.
WINDOW_ROOM_SQL = """%(window)s - (
        SELECT count(*) FROM {image} x
        WHERE x.facility_id = f.facility_id
          AND (x.status = ANY(%(ahead)s)
               OR (x.status = %(leased)s AND x.lease_expires_at >= statement_timestamp()))
    )"""


@dataclass(frozen=True)
class BatchClaim:
    # (id, batch_id, attempts after the claim, waiting since, timings) of each claimed image.
    rows: list[tuple[Any, Any, int, datetime, Any]]
    # The claimable images the statement read (those a full window holds back not counted).
    candidates: int
    # One image a full window held back (backpressure.py), or None; and the room left in the
    # windows of the facilities with held images.
    held_id: str | None
    held_room: int


def claim_rows(
    stage: Stage, count: int, token: uuid.UUID, holder: str, now: datetime, window: int | None
) -> BatchClaim:
    """Claim the next batch at `stage`; `window`: each facility's limit of images ahead of
    inference (preprocessing only; None: no limit)."""
    sql = CLAIM_SQL.format(
        facility=Facility._meta.db_table,
        turn=StageTurn._meta.db_table,
        image=Image._meta.db_table,
        room="NULL::bigint"
        if window is None
        else WINDOW_ROOM_SQL.format(image=Image._meta.db_table),
    )
    params: dict[str, Any] = {
        "stage": stage.name,
        "waiting": stage.waiting,
        "leased": stage.leased,
        # A few more than wanted: some may be locked by another worker claiming right now.
        "per_facility": count + 3,
        "count": count,
        "token": token,
        "holder": holder,
        "lease": settings.PIPELINE_LEASE_SECONDS,
        "now": now,
        "window": window,
        "ahead": [INFER.waiting, INFER.leased],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    # One row even when nothing was claimed: the counts come with it.
    rows = [tuple(row[:5]) for row in fetched if row[0] is not None]
    return BatchClaim(rows, int(fetched[0][5]), fetched[0][6], max(0, int(fetched[0][7] or 0)))
