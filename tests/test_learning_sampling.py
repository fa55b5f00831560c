"""Audit sampling: a facility's share of auto-accepted images also goes to review as audit
tasks. The draw is a function of the image id: it holds its share over many ids, a rerun of
validation draws the same, and the task records the share it was drawn at."""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

import pytest
from django.utils import timezone

from inspection.learning import sampling
from inspection.models import Batch, Facility, Image, ReviewTask
from inspection.pipeline.validate import validate_image
from tests.api_support import make_batch
from tests.learning_support import add_boxes
from tests.review_support import parcel_model

UNSURE = ((0, 0.3, [20.0, 30.0, 120.0, 150.0]),)  # a parcel under its 0.5 threshold
SURE = ((0, 0.9, [20.0, 30.0, 120.0, 150.0]),)


def ids(count: int, seed: int) -> list[uuid.UUID]:
    rng = random.Random(seed)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]


@pytest.mark.parametrize("share", [0.02, 0.1, 0.5])
def test_the_share_holds_over_many_images(share: float) -> None:
    count = 40_000
    chosen = sum(sampling.chosen(image_id, share) for image_id in ids(count, seed=21))
    sigma = math.sqrt(count * share * (1 - share))
    assert abs(chosen - count * share) < 4 * sigma


def test_the_draw_is_uniform_and_the_same_every_time() -> None:
    draws = [sampling.draw(image_id) for image_id in ids(20_000, seed=7)]
    deciles = [sum(int(d * 10) == k for d in draws) for k in range(10)]
    assert all(abs(n - 2_000) < 4 * math.sqrt(2_000 * 0.9) for n in deciles)
    again = [sampling.draw(image_id) for image_id in ids(20_000, seed=7)]
    assert draws == again
    assert not sampling.chosen(uuid.uuid4(), 0.0) and sampling.chosen(uuid.uuid4(), 1.0)


def inferred_batch(facility: Facility, boxes: list[Any]) -> Batch:
    """A batch whose images wait for validation, each with its model boxes."""
    batch = make_batch(facility, [Image.Status.INFERRED] * len(boxes))
    batch.images.update(model_version=parcel_model(), width=320, height=240)
    for image, image_boxes in zip(batch.images.order_by("position"), boxes, strict=True):
        add_boxes(image, image_boxes)
    return batch


def validate_all(batch: Batch) -> None:
    first = batch.images.first()
    assert first is not None
    while validate_image(first.pk):
        pass


@pytest.mark.django_db
def test_validation_opens_an_audit_task_for_the_accepted_images_drawn(facility: Facility) -> None:
    facility.audit_share = 0.3
    facility.save()
    batch = inferred_batch(facility, [SURE] * 40 + [UNSURE] * 8)
    validate_all(batch)

    accepted = batch.images.filter(status=Image.Status.ACCEPTED)
    assert accepted.count() == 40
    drawn = {image.id for image in accepted if sampling.chosen(image.id, 0.3)}
    audits = ReviewTask.objects.filter(kind=ReviewTask.Kind.AUDIT)
    assert {task.image_id for task in audits} == drawn
    assert 0 < len(drawn) < 40  # the fixed ids of this run draw some, not all
    assert {(task.audit_share, tuple(task.reasons)) for task in audits} == {(0.3, ())}
    assert all(task.min_confidence == 0.9 for task in audits)
    reviews = ReviewTask.objects.filter(kind=ReviewTask.Kind.REVIEW)
    assert reviews.count() == 8  # every unsure image, never audited twice over
    assert not reviews.filter(image_id__in=drawn).exists()
    assert {image.status for image in Image.objects.filter(id__in=drawn)} == {"accepted"}


@pytest.mark.django_db
def test_a_rerun_of_validation_draws_the_same_and_opens_nothing_twice(facility: Facility) -> None:
    facility.audit_share = 0.5
    facility.save()
    batch = inferred_batch(facility, [SURE] * 16)
    validate_all(batch)
    before = set(ReviewTask.objects.values_list("image_id", "kind"))
    # A lost lease: the same images validated again (as the sweeper would have them).
    batch.images.update(status=Image.Status.INFERRED, finished_at=None, updated_at=timezone.now())
    validate_all(batch)
    assert not batch.images.filter(finished_at=None).exists()  # validated again
    assert set(ReviewTask.objects.values_list("image_id", "kind")) == before


@pytest.mark.django_db
def test_no_audit_at_a_share_of_zero(facility: Facility) -> None:
    facility.audit_share = 0.0
    facility.save()
    validate_all(inferred_batch(facility, [SURE] * 16))
    assert not ReviewTask.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("typed, share", [("0.1", 0.1), ("", 0.02), ("1.5", None)])
def test_the_share_is_set_per_facility_in_the_admin(
    admin_client: Any, typed: str, share: float | None
) -> None:
    form = {
        "slug": "dc-audit",
        "name": "Audit DC",
        "active_model": "",
        "audit_share": typed,
        "facilitymembership_set-TOTAL_FORMS": "0",
        "facilitymembership_set-INITIAL_FORMS": "0",
    }
    answer = admin_client.post("/admin/inspection/facility/add/", form)
    saved = Facility.objects.filter(slug="dc-audit").first()
    if share is None:  # out of range: refused, nothing saved
        assert answer.status_code == 200 and saved is None
    else:
        assert answer.status_code == 302 and saved is not None
        assert saved.audit_share == share
