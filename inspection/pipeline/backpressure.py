"""Back-pressure: each facility's images are preprocessed at most PREPROCESS_AHEAD_IMAGES ahead of
inference (counting those preprocessing, preprocessed and inferring: its window).

Without it, one facility's 500-image batch kept both CPU processes preprocessing for seconds, far
ahead of the model: another facility's one image then waited behind that work for its own
preprocessing and validation, and the model for the CPU (bench fairness: 3.95x its idle latency,
the target is 3x). With it, the CPU processes are idle most of the time and the model has the
cores.

The window is part of the preprocess claim (batch_claim_sql): a fresh image of a facility whose
window is full is not claimed and waits, `queued`, with no message. Whoever leaves images waiting
that way marks them held (a Redis key naming one of them): a claim the window cut, or a
submission larger than the window, which sends messages for a window's worth only; the mark
carries the room the claim left. Whoever frees room (every finished inference batch, a
preprocess batch whose images failed) adds it to the mark's room; once that holds a preprocess
batch, it takes the mark and sends one message per batch of the room. A claim that marks just
as the last batch in its window finishes could miss that batch's look at the mark, so a claim
compares the count of freed images before and after it marked and adds the difference itself.
The sweeper, window-aware, sends what a lost mark left (a Redis restart).

Only with PostgreSQL and the Redis broker (the claim is one statement and the mark a Redis key);
the embedded mode (SQLite, filesystem broker) preprocesses without a window.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Now

from inspection.models import Image
from inspection.observability import broker
from inspection.pipeline.enqueue import send_now
from inspection.pipeline.stages import INFER, PREPROCESS, Stage

logger = logging.getLogger(__name__)

# An image id some preprocess message is missing for (the images a full window holds back).
HELD_KEY = "inspection:preprocess:held"
# The room made (images that left a window) since the mark was set.
ROOM_KEY = "inspection:preprocess:room"
# How many images have left a window so far: a claim compares it before and after it marks.
FREED_KEY = "inspection:preprocess:freed"
KEYS = (HELD_KEY, ROOM_KEY, FREED_KEY)


def window(stage: Stage = PREPROCESS) -> int | None:
    """The number of images a facility may have ahead of inference, when `stage`'s claims are
    limited by one (preprocessing, PREPROCESS_AHEAD_IMAGES > 0, PostgreSQL and Redis)."""
    ahead = int(settings.PREPROCESS_AHEAD_IMAGES)
    if stage is not PREPROCESS or ahead <= 0 or connection.vendor != "postgresql":
        return None
    return ahead if broker.is_redis(settings.CELERY_BROKER_URL) else None


def freed_so_far() -> int | None:
    """Read before a preprocess claim; None when Redis did not answer (the sweeper covers)."""
    try:
        return int(_client().get(FREED_KEY) or 0)
    except redis.RedisError as exc:
        logger.warning("back-pressure: Redis unreadable (%r)", exc)
        return None


def hold(image_id: Any, room: int, freed_before: int | None) -> None:
    """A claim left `image_id` (and maybe more) waiting because its facility's window was full,
    with `room` left in it after the claim (none, unless the claim took a retried image or
    another facility's). Should an inference batch have finished since the claim read the
    windows, it may have looked for the mark before it was set: its room counts here too."""
    try:
        client = _client()
        with client.pipeline() as marking:  # MULTI: the mark and its room at once
            marking.set(HELD_KEY, str(image_id))
            marking.set(ROOM_KEY, room)
            marking.get(FREED_KEY)
            freed_now = marking.execute()[2]
        freed_since = int(freed_now or 0) - (freed_before or 0) if freed_before is not None else 0
        _wake(client, max(0, freed_since), count_as_freed=False)
    except redis.RedisError as exc:
        logger.warning("back-pressure: held images left to the sweeper (%r)", exc)


def freed(count: int) -> None:
    """`count` images left their facilities' windows (inferred, failed, sent back)."""
    if count <= 0 or window() is None:
        return
    try:
        _wake(_client(), count, count_as_freed=True)
    except redis.RedisError as exc:
        logger.warning("back-pressure: wake-up left to the sweeper (%r)", exc)


def after_batch(stage: Stage, claimed: int, carried: int) -> None:
    """A stage ran a batch of `claimed` images and carried `carried` on: every image of an
    inference batch left its window (inferred, failed or sent back), and those of a
    preprocess batch that did not go on to inference (failed)."""
    if stage is INFER:
        freed(claimed)
    elif stage is PREPROCESS:
        freed(claimed - carried)


def admit(images: Sequence[tuple[Any, Any]]) -> list[Any]:
    """Of new waiting images, (facility id, image id) oldest first: those to send messages for
    now, a window's worth of each facility. The rest are marked held first, so that the first
    of them to have room is woken; their facility's claims keep the mark set from then on."""
    ahead = window()
    if ahead is None:
        return [image_id for _, image_id in images]
    taken: Counter[Any] = Counter()
    admitted: list[Any] = []
    held: list[Any] = []
    for facility_id, image_id in images:
        taken[facility_id] += 1
        (admitted if taken[facility_id] <= ahead else held).append(image_id)
    if held:
        transaction.on_commit(lambda: hold(held[0], 0, None))
    return admitted


def admissible(waiting: QuerySet[Image], ahead: int) -> tuple[int, Q]:
    """For the sweeper, of the images `waiting` at preprocessing: how many fresh ones the
    windows have room for, and which images a re-send may name (retried ones, those of a
    facility with room). The held images need no message: their wake-up sends it."""
    fresh = dict(
        waiting.filter(attempts=0)
        .values_list("facility_id")
        .annotate(n=Count("id"))
        .values_list("facility_id", "n")
    )
    in_window = Q(status__in=[INFER.waiting, INFER.leased])
    in_window |= Q(status=PREPROCESS.leased, lease_expires_at__gte=Now())
    taken = dict(
        Image.objects.filter(in_window, facility_id__in=list(fresh))
        .values_list("facility_id")
        .annotate(n=Count("id"))
        .values_list("facility_id", "n")
    )
    room = {facility: max(0, ahead - taken.get(facility, 0)) for facility in fresh}
    with_room = [facility for facility, left in room.items() if left]
    count = sum(min(n, room[facility]) for facility, n in fresh.items())
    return count, Q(attempts__gt=0) | Q(facility_id__in=with_room)


# KEYS: the held mark, the room made since it was set, the freed total. ARGV: images freed,
# the room that wakes the held images, whether to add them to the total. Returns the mark and
# the room when they wake (the mark is taken), else nothing. One script: atomic.
WAKE_SCRIPT = """
local freed = tonumber(ARGV[1])
if ARGV[3] == '1' then redis.call('INCRBY', KEYS[3], freed) end
local room = redis.call('INCRBY', KEYS[2], freed)
if room < tonumber(ARGV[2]) then return false end
local held = redis.call('GET', KEYS[1])
if not held then return false end
redis.call('DEL', KEYS[1], KEYS[2])
return {held, room}
"""


def _wake(client: redis.Redis, count: int, count_as_freed: bool) -> None:
    """Add `count` to the room made since the mark; once it holds a preprocess batch (half the
    window, when that is less), take the mark and send one message per batch of that room.
    Waking for less would split preprocessing into batches of what each inference batch freed
    (two images on a slow CPU): more messages and statements per image for the same work. The
    room never needs to reach more than half the window, so it always can: the mark was set with
    the room the claim left, and the images in the window free the rest as they finish."""
    ahead = window() or 1
    batch = PREPROCESS.batch_size
    wake_at = max(1, min(batch, ahead // 2))
    woken = client.eval(WAKE_SCRIPT, len(KEYS), *KEYS, count, wake_at, int(count_as_freed))
    if woken:
        held, room = _text(woken[0]), int(woken[1])
        # Each message claims a batch in fair order, whichever image it names.
        send_now(PREPROCESS, [held] * (max(1, room // batch) * batch))


def _client() -> redis.Redis:
    return _client_for(settings.CELERY_BROKER_URL)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    """One client (and its connection pool) per process."""
    return broker.redis_client(url)
