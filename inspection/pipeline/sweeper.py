"""The sweeper (every PIPELINE_SWEEP_INTERVAL_SECONDS, on its own queue): PostgreSQL is the
source of truth; the broker may lose or repeat messages, and workers may die.

Each sweep
- fails images whose attempts passed the cap (their messages keep killing workers);
- frees the images held by dead processes, at once rather than when their leases run out: a
  worker whose heartbeat stopped (a dead host, a killed worker), or a pool process its worker's
  heartbeat no longer lists (a process killed by a poison image, or by a time limit);
- sends the messages that are missing: per stage, the images waiting there minus the messages
  waiting in its queue (at preprocessing, only the images their facilities' windows have room
  for: backpressure.py; the others are woken when room is made). Only that many are sent,
  oldest image first, and an image re-sent once waits twice as long before the next re-send
  (PIPELINE_RESEND_SECONDS, then 2x, 4x ... 16x), so a backlog whose messages are merely slow
  is left alone and the queues never hold more messages than there are images to take them.
  After the broker lost its messages (a restart without persistence), or the database was
  away and workers dropped theirs, work resumes at the next sweep;
- completes batches a dying worker left behind.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Now

from inspection import task_names
from inspection.models import Image
from inspection.observability import broker, heartbeat
from inspection.pipeline import backpressure, claims
from inspection.pipeline.completion import complete_finished_batches
from inspection.pipeline.enqueue import send_each, send_now
from inspection.pipeline.failures import fail_image
from inspection.pipeline.stages import ROLES, STAGES, Stage

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 1000
# The longest wait between two re-sends of one image, in PIPELINE_RESEND_SECONDS.
RESEND_MAX_WAITS = 16
# A beat must be this much later than a claim to speak for it (both from the worker's host).
CLOCK_MARGIN_SECONDS = 1.0


@dataclass
class SweepReport:
    requeued: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    released: int = 0
    batches_completed: int = 0


def sweep_stalled() -> SweepReport:
    report = SweepReport(failed=_fail_over_cap(), released=len(release_dead_holders()))
    for stage in STAGES:
        if sent := resend_missing(stage):
            report.requeued[stage.name] = sent
    report.batches_completed = complete_finished_batches()
    if report.requeued or report.failed or report.released or report.batches_completed:
        logger.info(
            "sweep: requeued=%s failed=%d released=%d batches_completed=%d",
            report.requeued,
            report.failed,
            report.released,
            report.batches_completed,
        )
    return report


def _fail_over_cap() -> int:
    """A held image whose lease ran out and whose next claim would pass the cap."""
    capped = Q(status__in=Image.LEASED, attempts__gte=settings.PIPELINE_MAX_ATTEMPTS)
    capped &= claims.expired_lease()
    ids = list(Image.objects.filter(capped).values_list("id", flat=True)[:SWEEP_LIMIT])
    detail = f"the lease ran out after {settings.PIPELINE_MAX_ATTEMPTS} attempts"
    return sum(
        fail_image(i, "attempts_exhausted", detail, task_names.SWEEP_STALLED, capped) for i in ids
    )


def release_dead_holders() -> list[Any]:
    """Free what dead processes hold: a worker whose heartbeat stopped (a dead host, a killed
    worker), or a pool process its worker's latest beat no longer lists (the pool replaced it).
    A process that only claimed after that beat is not judged by it."""
    try:
        known = {node: beat for role in ROLES for node, beat in heartbeat.beats(role.name).items()}
    except Exception as exc:  # no broker, no heartbeats to judge by: leases still run out
        logger.warning("sweep: heartbeats unreadable (%r)", exc)
        return []
    held = Image.objects.filter(status__in=Image.LEASED).exclude(leased_by="")
    rows = held.values_list("leased_by", "updated_at")
    dead = {holder for holder, claimed in rows if _dead(holder, claimed.timestamp(), known)}
    return claims.release_held_by(Q(leased_by__in=dead)) if dead else []


def _dead(holder: str, claimed_at: float, known: dict[str, heartbeat.Beat]) -> bool:
    node, _, pid = holder.rpartition("/")
    if "@" not in node or not pid.isdigit():
        return False  # not a Celery worker's claim (a tool, a test): its lease decides
    beat = known.get(node)
    if beat is None:
        return True
    return int(pid) not in beat.pids and beat.at > claimed_at + CLOCK_MARGIN_SECONDS


def resend_missing(stage: Stage) -> int:
    """Send the messages that the images waiting at the stage need and no waiting message
    stands for: one per batch size of images on their first attempt, one per image on a later
    attempt (those are claimed alone). Returns how many messages were sent."""
    waiting = Image.objects.filter(claims.claimable(stage))
    try:
        queued = broker.ready_messages(
            settings.CELERY_BROKER_URL, stage.queue, stage.priority, stage.task
        )
    except Exception as exc:
        logger.warning("sweep: %s queue unreadable (%r)", stage.name, exc)
        return 0
    counts = waiting.aggregate(
        fresh=Count("id", filter=Q(attempts=0)), retried=Count("id", filter=Q(attempts__gt=0))
    )
    fresh, resendable = counts["fresh"], Q()
    if (ahead := backpressure.window(stage)) is not None:
        fresh, resendable = backpressure.admissible(waiting, ahead)
    needed = math.ceil(fresh / stage.batch_size) + counts["retried"]
    missing = needed - (queued or 0)
    if missing <= 0:
        return 0
    with transaction.atomic():
        # Retried images first: each needs a message of its own.
        due = waiting.filter(resendable, _resend_due())
        due = due.order_by("-attempts", "created_at", "position")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)  # two sweeps at once: one takes each
        rows = list(
            due.values_list("id", "attempts")[: min(missing * stage.batch_size, SWEEP_LIMIT)]
        )
        ids = _covered_by(rows, missing, stage.batch_size)
        Image.objects.filter(id__in=ids).update(resends=F("resends") + 1, resent_at=Now())
        # After the commit: the retried ones alone, the others in batches.
        retried = {image_id for image_id, attempts in rows if attempts}
        sent = send_each(stage, [image_id for image_id in ids if image_id in retried])
        sent += send_now(stage, [image_id for image_id in ids if image_id not in retried])
    return sent


def _covered_by(rows: list[tuple[Any, int]], messages: int, batch_size: int) -> list[Any]:
    """The images (oldest first) that `messages` messages cover: a retried image takes one of
    its own, fresh ones one per batch size."""
    covered: list[Any] = []
    fresh_in_batch = 0
    for image_id, attempts in rows:
        if attempts:
            if messages == 0:
                continue
            messages -= 1
        elif fresh_in_batch == 0:
            if messages == 0:
                continue
            messages -= 1
            fresh_in_batch = batch_size - 1
        else:
            fresh_in_batch -= 1
        covered.append(image_id)
    return covered


def _resend_due() -> Q:
    """Never re-sent at this stage, or re-sent long enough ago (doubling waits)."""
    due = Q(resends=0)
    base = settings.PIPELINE_RESEND_SECONDS
    for resends in range(1, 6):
        waits = min(2 ** (resends - 1), RESEND_MAX_WAITS)
        condition = Q(resent_at__lt=Now() - timedelta(seconds=base * waits))
        count = Q(resends=resends) if resends < 5 else Q(resends__gte=resends)
        due |= count & condition
    return due
