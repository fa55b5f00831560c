"""Back-pressure: a facility's images are preprocessed at most PREPROCESS_AHEAD_IMAGES ahead of
inference. The images a full window holds back wait with no message, marked held in Redis, and
are woken by the next finished inference batch; another facility's image is never held by it;
the sweeper sends no message for held images, but does when room is made and the mark is gone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from inspection.models import Facility, Image, ModelVersion
from inspection.pipeline import backpressure, preprocess
from inspection.pipeline.claims import PREPROCESS
from inspection.pipeline.fairness import claim_batch
from inspection.pipeline.infer import infer_image
from inspection.pipeline.preprocess import preprocess_image
from inspection.pipeline.steps import run_claims
from inspection.pipeline.sweeper import resend_missing
from tests.api_support import Published
from tests.workers import add_image, empty_batch, photo_bytes, reload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
Status = Image.Status
WINDOW = 8


@pytest.fixture(autouse=True)
def small_window(settings: Any, redis_queues: redis.Redis) -> Iterator[redis.Redis]:
    settings.PREPROCESS_BATCH_SIZE = 4
    settings.PREPROCESS_AHEAD_IMAGES = WINDOW
    settings.INFERENCE_BATCH_SIZE = 4
    settings.INFERENCE_MAX_BATCH_MS = 10**6  # batches of 4 whatever this machine's speed
    yield redis_queues


def queued(facility: Facility, count: int, seed: int = 0) -> list[Image]:
    batch = empty_batch(facility)
    return [add_image(batch, photo_bytes(320, 240, seed=seed + i)) for i in range(count)]


def preprocess_messages(published: Published) -> list[str]:
    return [args[0] for name, args, _ in published.calls if name == PREPROCESS.task]


def statuses(images: list[Image]) -> list[str]:
    return [reload(image).status for image in images]


def test_a_facility_is_claimed_no_further_than_its_window(
    facility: Facility, other_facility: Facility, redis_queues: redis.Redis
) -> None:
    images = queued(facility, 20)
    assert len(claim_batch(PREPROCESS)) == 4
    assert len(claim_batch(PREPROCESS)) == 4
    assert claim_batch(PREPROCESS) == []  # eight ahead of inference: the window is full
    assert statuses(images).count(Status.QUEUED) == 12
    held = redis_queues.get(backpressure.HELD_KEY)
    assert held in {str(image.pk).encode() for image in images[8:]}
    # Another facility's image is not held by it.
    (small,) = queued(other_facility, 1, seed=50)
    assert [claim.image_id for claim in claim_batch(PREPROCESS)] == [small.pk]


def test_a_finished_inference_batch_wakes_the_images_it_made_room_for(
    facility: Facility,
    dev_model: ModelVersion,
    published: Published,
    django_capture_on_commit_callbacks: Any,
    redis_queues: redis.Redis,
) -> None:
    images = queued(facility, 14)
    with django_capture_on_commit_callbacks(execute=True):
        assert preprocess_image(images[0].pk) == 4
        assert preprocess_image(images[4].pk) == 4
        assert preprocess_image(images[8].pk) == 0  # held: no message is sent for them
    assert preprocess_messages(published) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert infer_image(images[0].pk) == 4
    woken = preprocess_messages(published)
    assert len(woken) == 1  # four images left the window: one preprocess batch
    assert redis_queues.get(backpressure.HELD_KEY) is None  # the mark was taken
    with django_capture_on_commit_callbacks(execute=True):
        assert preprocess_image(woken[0]) == 4
        # The window is full again: the next claim marks the last two held once more.
        assert preprocess_image(woken[0]) == 0
    assert statuses(images).count(Status.QUEUED) == 2
    assert redis_queues.get(backpressure.HELD_KEY) is not None


def test_images_failed_at_preprocessing_make_room(
    facility: Facility,
    dev_model: ModelVersion,
    published: Published,
    django_capture_on_commit_callbacks: Any,
) -> None:
    batch = empty_batch(facility)
    broken = [add_image(batch, b"not a photo", name=f"broken-{i}.jpg") for i in range(4)]
    good = [add_image(batch, photo_bytes(320, 240, seed=i)) for i in range(10)]
    at_work = claim_batch(PREPROCESS)  # the four broken ones, claimed by a worker still at work
    with django_capture_on_commit_callbacks(execute=True):
        assert preprocess_image(good[0].pk) == 4
        assert preprocess_image(good[0].pk) == 0  # 4 + 4 ahead: full, the rest held
    assert preprocess_messages(published) == []
    with django_capture_on_commit_callbacks(execute=True):  # that worker finds them unreadable
        run_claims(PREPROCESS, broken[0].pk, at_work, preprocess._preprocess_batch, "error")
    assert set(statuses(broken)) == {Status.FAILED}
    # The room the four failures left wakes one preprocess batch.
    assert len(preprocess_messages(published)) == 1
    assert statuses(good).count(Status.QUEUED) == 6


def test_a_claim_that_took_a_retried_image_wakes_the_held_ones_into_the_room_it_left(
    facility: Facility,
    published: Published,
    django_capture_on_commit_callbacks: Any,
    redis_queues: redis.Redis,
) -> None:
    """An image on a later attempt is claimed alone: the claim leaves the window's room unused
    while fresh images are held, and that room must not wait for the next inference batch."""
    images = queued(facility, 14)
    Image.objects.filter(pk__in=[i.pk for i in images[:4]]).update(status=Status.PREPROCESSED)
    Image.objects.filter(pk=images[4].pk).update(attempts=1)  # released after a failure
    with django_capture_on_commit_callbacks(execute=True):
        assert [claim.image_id for claim in claim_batch(PREPROCESS)] == [images[4].pk]
    # Four ahead plus the retried one, of eight: room for a preprocess batch, woken at once.
    assert len(preprocess_messages(published)) == 1
    assert redis_queues.get(backpressure.HELD_KEY) is None


def test_held_images_wake_once_a_preprocess_batch_has_room(
    facility: Facility,
    published: Published,
    django_capture_on_commit_callbacks: Any,
    redis_queues: redis.Redis,
) -> None:
    """On a slow CPU inference batches are two images: waking for each would preprocess in
    batches of two, twice the messages and statements per image for the same work."""
    (image,) = queued(facility, 1)
    backpressure.hold(image.pk, 0, backpressure.freed_so_far())
    with django_capture_on_commit_callbacks(execute=True):
        backpressure.freed(2)
    assert preprocess_messages(published) == []
    with django_capture_on_commit_callbacks(execute=True):
        backpressure.freed(2)
    assert preprocess_messages(published) == [str(image.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        backpressure.freed(8)  # nothing is held any more: nothing to wake
    assert len(preprocess_messages(published)) == 1


def test_a_mark_set_as_the_window_empties_wakes_the_images_itself(
    facility: Facility,
    published: Published,
    django_capture_on_commit_callbacks: Any,
    redis_queues: redis.Redis,
) -> None:
    """The race: an inference batch finished after the claim read the windows but before it
    set the mark, so the batch found no mark to take; the claim sees the freed count move."""
    (image,) = queued(facility, 1)
    before = backpressure.freed_so_far()
    backpressure.freed(4)  # the batch finishes: no mark yet, nothing to wake
    assert preprocess_messages(published) == []
    with django_capture_on_commit_callbacks(execute=True):
        backpressure.hold(image.pk, 0, before)
    assert preprocess_messages(published) == [str(image.pk)]
    assert redis_queues.get(backpressure.HELD_KEY) is None


def test_the_sweeper_sends_nothing_for_held_images_but_does_for_room_whose_mark_was_lost(
    facility: Facility,
    published: Published,
    django_capture_on_commit_callbacks: Any,
    redis_queues: redis.Redis,
) -> None:
    images = queued(facility, 12)
    claim_batch(PREPROCESS)
    claim_batch(PREPROCESS)  # eight preprocessing under live leases: the window is full
    with django_capture_on_commit_callbacks(execute=True):
        assert resend_missing(PREPROCESS) == 0
    # Four reach inference and finish, and Redis lost the mark (a restart): room for four.
    Image.objects.filter(pk__in=[i.pk for i in images[:4]]).update(status=Status.INFERRED)
    redis_queues.flushdb()
    with django_capture_on_commit_callbacks(execute=True):
        assert resend_missing(PREPROCESS) == 1
    (named,) = preprocess_messages(published)
    assert named in {str(image.pk) for image in images[8:]}


def test_a_submission_larger_than_the_window_sends_a_window_s_worth_and_marks_the_rest(
    facility: Facility,
    other_facility: Facility,
    django_capture_on_commit_callbacks: Any,
    redis_queues: redis.Redis,
) -> None:
    north = [(facility.pk, f"n{i}") for i in range(11)]
    south = [(other_facility.pk, f"s{i}") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        admitted = backpressure.admit(north + south)
    assert admitted == [f"n{i}" for i in range(WINDOW)] + ["s0", "s1", "s2"]
    assert redis_queues.get(backpressure.HELD_KEY) == b"n8"


def test_no_window_when_it_is_switched_off(facility: Facility, settings: Any) -> None:
    settings.PREPROCESS_AHEAD_IMAGES = 0
    queued(facility, 12)
    assert sum(len(claim_batch(PREPROCESS)) for _ in range(3)) == 12
