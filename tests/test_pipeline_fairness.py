"""Fair claiming across facilities: a stage message takes the image whose facility's turn is
oldest (round robin), the oldest image within a facility, so a large batch of one facility does
not hold a small batch of another; as many messages as images still process every image."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import psycopg
import pytest
from django.db import connection as db_connection

from inspection.models import Facility, Image, ModelVersion, StageTurn
from inspection.pipeline import enqueue
from inspection.pipeline.claims import INFER, PREPROCESS
from inspection.pipeline.fairness import claim_batch, claim_fairly, facilities_in_turn
from inspection.pipeline.infer import infer_image
from inspection.pipeline.preprocess import preprocess_image
from inspection.services.facilities import create_facility
from tests.workers import add_image, empty_batch, photo_bytes, reload, worker_database_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
Status = Image.Status


def queued(facility: Facility, count: int, seed: int = 0) -> list[Image]:
    batch = empty_batch(facility)
    return [add_image(batch, photo_bytes(320, 240, seed=seed + i)) for i in range(count)]


def claim_order(count: int) -> list[str]:
    """Facility slugs in the order successive preprocess claims take their images."""
    order = []
    for _ in range(count):
        (claim,) = claim_fairly(PREPROCESS)
        order.append(Image.objects.get(pk=claim.image_id).facility.slug)
    return order


def test_a_small_batch_is_taken_next_behind_a_large_one(
    facility: Facility, other_facility: Facility
) -> None:
    large = queued(facility, 20)
    (small,) = queued(other_facility, 1, seed=100)
    # The large batch's own messages come first; the second one already takes the small batch.
    assert [c.image_id for c in claim_fairly(PREPROCESS)] == [large[0].pk]
    assert [c.image_id for c in claim_fairly(PREPROCESS)] == [small.pk]
    assert [c.image_id for c in claim_fairly(PREPROCESS)] == [large[1].pk]


def test_facilities_take_turns_and_each_serves_its_oldest_first(
    facility: Facility, other_facility: Facility
) -> None:
    third = create_facility("dc-east", "East DC")
    a, b, c = queued(facility, 3), queued(other_facility, 3, 10), queued(third, 2, 20)
    assert claim_order(8) == ["dc-north", "dc-south", "dc-east"] * 2 + ["dc-north", "dc-south"]
    leased = Image.objects.filter(status=Status.PREPROCESSING)
    assert set(leased.values_list("pk", flat=True)) == {i.pk for i in (*a, *b, *c)}
    turns = StageTurn.objects.filter(stage=PREPROCESS.name).count()
    assert turns == 3


def test_a_facility_waiting_longest_goes_first(
    facility: Facility, other_facility: Facility
) -> None:
    queued(facility, 2)
    queued(other_facility, 2, 10)
    claim_order(2)  # both served once, north first
    assert facilities_in_turn(PREPROCESS) == [facility.pk, other_facility.pk]


def test_every_message_processes_a_batch_whichever_image_it_names(
    facility: Facility, other_facility: Facility, dev_model: ModelVersion, settings: Any
) -> None:
    settings.PREPROCESS_BATCH_SIZE = 4
    other_facility.active_model = dev_model
    other_facility.save()
    images = queued(facility, 5) + queued(other_facility, 2, 10)
    # Submissions send one message per 4 images: 2 for the 5, 1 for the 2; each takes a batch.
    done = [preprocess_image(image.pk) for image in (images[0], images[4], images[5])]
    assert sum(done) == 7
    assert not preprocess_image(images[0].pk)  # a repeated message finds nothing
    assert {reload(image).status for image in images} == {Status.PREPROCESSED}


def test_while_facilities_compete_a_batch_holds_one_image_of_each(
    facility: Facility,
    other_facility: Facility,
    dev_model: ModelVersion,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """So the small facility's image never waits behind a whole batch of the large one's; the
    message, sent for a full batch, sends one more for the images it left."""
    settings.INFERENCE_BATCH_SIZE = 4
    # About the facilities' cap, not the time budget: on a loaded machine the process's measured
    # time per image would cut the batch to one image (a helper's run saw 1 instead of 2).
    settings.INFERENCE_MAX_BATCH_MS = 10**6
    other_facility.active_model = dev_model
    other_facility.save()
    large = queued(facility, 8)
    small = queued(other_facility, 2, 10)
    for image in large + small:
        preprocess_image(image.pk)
    with django_capture_on_commit_callbacks() as sent:
        assert infer_image(large[0].pk) == 2
    assert sum(1 for c in sent if c.args[0] is INFER) == 1  # one more for what it left
    inferred = {i.pk for i in large + small if reload(i).status == Status.INFERRED}
    assert inferred == {large[0].pk, small[0].pk}
    assert infer_image(large[0].pk) == 2
    assert reload(small[1]).status == Status.INFERRED


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # another connection must see the images
def test_a_claim_cut_short_by_another_process_s_locks_sends_a_message_for_the_rest(
    facility: Facility, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pool processes claiming at the same moment: the second skips the rows the first has
    locked and takes fewer than a batch; one more message goes out for the images it left (two
    of 120 images once waited for the sweeper's re-send without it)."""
    settings.PREPROCESS_BATCH_SIZE = 4
    images = queued(facility, 12)
    sent: list[list[str]] = []
    monkeypatch.setattr(enqueue, "_send", lambda stage, ids: sent.append(ids))
    with psycopg.connect(worker_database_url().replace("postgres://", "postgresql://")) as other:
        # The other process's claim, mid-statement: its four rows locked.
        locked = [str(image.pk) for image in images[:4]]
        other.execute("SELECT id FROM inspection_image WHERE id = ANY(%s) FOR UPDATE", [locked])
        claimed = claim_batch(PREPROCESS)
        assert 0 < len(claimed) < 4  # the candidates it read past the locked ones
        assert {str(c.image_id) for c in claimed}.isdisjoint(locked)
        other.rollback()
    assert len(sent) == 1  # one more message, for the images this claim left


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # another connection must see the images
def test_a_message_that_claims_nothing_while_images_wait_is_replaced(
    facility: Facility, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process has every waiting image in hand at the moment this claim runs: the claim
    takes nothing, and since the images still wait, one message goes out in its place (a
    SQLite run with two CPU processes once left two of six images without one)."""
    settings.PREPROCESS_BATCH_SIZE = 4
    images = queued(facility, 3)
    sent: list[list[str]] = []
    monkeypatch.setattr(enqueue, "_send", lambda stage, ids: sent.append(ids))
    with psycopg.connect(worker_database_url().replace("postgres://", "postgresql://")) as other:
        every = [str(image.pk) for image in images]
        other.execute("SELECT id FROM inspection_image WHERE id = ANY(%s) FOR UPDATE", [every])
        assert claim_batch(PREPROCESS) == []
        other.rollback()
    assert len(sent) == 1
    assert claim_batch(PREPROCESS) and len(sent) == 1  # taken, all three: nothing more waits
    assert claim_batch(PREPROCESS) == [] and len(sent) == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the processes claim on connections of their own
def test_two_processes_claiming_at_once_leave_no_image_without_a_message(
    facility: Facility, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two CPU pool processes taking the messages of a 200-image submission as fast as they
    can: whatever their claims do to each other (rows locked, or claimed and committed while
    the other's statement runs), every image is claimed by the time the messages run out."""
    settings.PREPROCESS_BATCH_SIZE = 4
    settings.PREPROCESS_AHEAD_IMAGES = 0  # every image claimable: the claims race, not a window
    images = queued(facility, 200)
    messages = deque(enqueue.batches(PREPROCESS, [image.pk for image in images]))
    monkeypatch.setattr(enqueue, "_send", lambda stage, ids: messages.extend(ids))
    claimed: list[Any] = []

    def process() -> None:
        try:
            while True:
                try:
                    messages.popleft()
                except IndexError:
                    return
                claimed.extend(claim.image_id for claim in claim_batch(PREPROCESS))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(map(str, claimed)) == sorted(str(image.pk) for image in images)
