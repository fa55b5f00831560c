"""Measured precision from audit verdicts, per facility, model version and class: which boxes an
audit judged correct, the counts, bound and further audits of each class, the recommendation
and the review share it would cause; read only within the caller's facilities."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.utils import timezone

from inspection.learning import precision
from inspection.learning.outcomes import Group, judge
from inspection.learning.report import ClassReport, precision_report, review_share
from inspection.models import Facility, Image, ThresholdPolicy, ThresholdSource
from inspection.review import leases
from inspection.review.boxes import Box
from inspection.review.decisions import DecisionRequest, decide
from tests.api_support import make_batch
from tests.learning_support import ACCEPTED_BOXES, accepted_batch, add_boxes, audit_task
from tests.review_support import CLASSES, make_member, parcel_model
from tests.webhook_support import open_task

PARCEL = {"class_id": 0, "class_name": "parcel", "confidence": 0.93, "box": [20, 30, 120, 150]}
LABEL = {"class_id": 1, "class_name": "label", "confidence": 0.88, "box": [150, 40, 250, 90]}


def answer(*boxes: dict[str, Any]) -> dict[str, Any]:
    return {"status": "accepted", "boxes": [{**box, "confidence": None} for box in boxes]}


def moved(box: dict[str, Any], dx: float) -> dict[str, Any]:
    x1, y1, x2, y2 = box["box"]
    return {**box, "box": [x1 + dx, y1, x2 + dx, y2]}


def judged(verdict: str, after: dict[str, Any], reason: str = "") -> list[tuple[str, bool]]:
    before = {"status": "accepted", "boxes": [PARCEL, LABEL]}
    return [(name, o.correct) for name, o in judge(verdict, reason, before, after)]


def test_a_box_is_correct_when_the_reviewer_kept_it_within_iou_half() -> None:
    assert judged("accepted", answer(PARCEL, LABEL)) == [("parcel", True), ("label", True)]
    # Moved by 20 px of 100: IoU 0.67, still the same box. By 40 px: IoU 0.43, another box.
    assert judged("accepted", answer(moved(PARCEL, 20), LABEL))[0] == ("parcel", True)
    assert judged("accepted", answer(moved(PARCEL, 40), LABEL))[0] == ("parcel", False)
    assert judged("accepted", answer(PARCEL)) == [("parcel", True), ("label", False)]  # deleted
    relabelled = {**LABEL, "class_id": 2, "class_name": "damage"}
    assert judged("accepted", answer(PARCEL, relabelled))[1] == ("label", False)


def test_a_reject_counts_no_box_unless_there_was_no_package() -> None:
    rejected = {"status": "rejected", "boxes": []}
    assert judged("rejected", rejected, "unusable_image") == []
    assert judged("rejected", rejected, "no_package") == [("parcel", False), ("label", False)]


def audit(image: Image, user: Any, request: DecisionRequest) -> None:
    task = audit_task(image)
    assert leases.claim_task(task, user)
    decide(task, user, request)


NUDGED = Box(0, CLASSES[0], 22.0, 31.0, 121.0, 152.0)
LABEL_BOX = Box(1, CLASSES[1], 150.0, 40.0, 250.0, 90.0)


def audited_facility(facility: Facility, reviewer: Any) -> None:
    """Ten audits: 6 confirmed, 2 with the label deleted, 1 rejected as unusable (no box
    counted), 1 rejected as no package (both boxes wrong). Parcel: 8 of 9; label: 6 of 9."""
    images = list(accepted_batch(facility, 10).images.order_by("position"))
    for image in images[:6]:
        audit(image, reviewer, DecisionRequest("accepted"))
    for image in images[6:8]:
        audit(image, reviewer, DecisionRequest("accepted", boxes=[NUDGED]))
    audit(images[8], reviewer, DecisionRequest("rejected", reason="unusable_image"))
    audit(images[9], reviewer, DecisionRequest("rejected", reason="no_package"))


def by_class(rows: list[ClassReport]) -> dict[str, ClassReport]:
    return {row.class_name: row for row in rows}


@pytest.mark.django_db
def test_the_report_counts_bounds_and_audits_needed_per_class(
    facility: Facility, reviewer: Any
) -> None:
    ThresholdPolicy.objects.create(
        facility=facility,
        model_version=parcel_model(),
        default_threshold=0.5,
        class_thresholds={"damage": 0.6},
        source=ThresholdSource.CALIBRATED,
        details={"classes": {"parcel": {"target_precision": 0.8}}},
    )
    audited_facility(facility, reviewer)
    rows = precision_report(Facility.objects.filter(pk=facility.pk))
    assert [row.class_name for row in rows] == ["parcel", "label", "damage"]
    parcel, label, damage = rows
    assert {(row.facility, row.model, row.audited_images) for row in rows} == {
        ("dc-north", "parcels:1", 10)
    }
    assert (parcel.boxes, parcel.correct) == (9, 8)
    assert parcel.precision == pytest.approx(8 / 9)
    assert (label.boxes, label.correct) == (9, 6)
    assert (damage.boxes, damage.correct, damage.precision) == (0, 0, None)
    assert (parcel.target, label.target, damage.target) == (0.8, 0.95, 0.95)
    assert (parcel.threshold, label.threshold, damage.threshold) == (0.5, 0.5, 0.6)
    assert parcel.lower_bound == pytest.approx(precision.lower_bound(8, 9))
    assert not parcel.certified
    assert parcel.further_audits == precision.further_audits(8, 9, 0.8)
    assert parcel.further_audits is not None
    # 9 parcel boxes came with 10 audited images: the boxes still needed take 10/9 as many.
    assert parcel.further_audited_images == math.ceil(parcel.further_audits * 10 / 9)
    assert label.further_audits is None  # 6 of 9 is below 0.95: never at this rate
    assert damage.further_audits == 59  # nothing audited: 59 correct boxes in a row would do
    assert damage.further_audited_images is None  # no audited image had a damage box yet
    # Ten audits certify no threshold: nothing recommended, nothing tested.
    assert {row.recommended.threshold for row in rows} == {None}
    assert [row.recommended.delta for row in rows] == [pytest.approx(0.05 / 3)] * 3


@pytest.mark.slow  # over a second on 2 cores (pytest.ini)
@pytest.mark.django_db
def test_the_recommendation_and_the_review_share_it_would_cause(
    facility: Facility, reviewer: Any
) -> None:
    """200 audits of images whose parcel box (0.93) is right: parcel is certified down to its
    current threshold, which is recommended, and its review share stays nil."""
    batch = make_batch(facility, [Image.Status.ACCEPTED] * 200)
    batch.images.update(model_version=parcel_model(), finished_at=timezone.now())
    for image in batch.images.all():
        add_boxes(image, ACCEPTED_BOXES[:1])
        audit(image, reviewer, DecisionRequest("accepted"))
    parcel = by_class(precision_report(Facility.objects.filter(pk=facility.pk)))["parcel"]
    assert (parcel.boxes, parcel.correct) == (200, 200)
    assert parcel.certified and parcel.further_audits == 0
    assert parcel.recommended.threshold == 0.5  # every candidate from 0.93 down certified
    assert parcel.recommended.steps[0].threshold == 0.93
    assert parcel.review.images == 200
    assert (parcel.review.now, parcel.review.recommended) == (0.0, 0.0)


@pytest.mark.django_db
def test_the_review_share_counts_images_with_a_box_below_the_threshold(
    facility: Facility, reviewer: Any
) -> None:
    batch = make_batch(facility, [Image.Status.ACCEPTED] * 8 + [Image.Status.NEEDS_REVIEW] * 2)
    batch.images.update(model_version=parcel_model(), finished_at=timezone.now())
    images = list(batch.images.order_by("position"))
    for image, confidence in zip(images, [0.95] * 4 + [0.7] * 4 + [0.3] * 2, strict=True):
        add_boxes(image, [(0, confidence, [20.0, 30.0, 120.0, 150.0])])
    group = Group(facility.pk, facility.slug, parcel_model().pk, "parcels:1")
    share = review_share(group, "parcel", 0.5, 0.8)
    assert (share.images, share.now, share.recommended) == (10, 0.2, 0.6)


@pytest.mark.django_db
def test_reviews_are_not_audits_and_other_facilities_stay_out(
    facility: Facility, other_facility: Facility, reviewer: Any
) -> None:
    audited_facility(facility, reviewer)
    # A decided review (not an audit) of the same model adds nothing.
    task = open_task(make_batch(facility, [Image.Status.NEEDS_REVIEW]).images.get())
    Image.objects.filter(pk=task.image_id).update(model_version=parcel_model())
    assert leases.claim_task(task, reviewer)
    decide(task, reviewer, DecisionRequest("accepted"))
    # An audit at the other facility.
    other_reviewer = make_member("olga", other_facility)
    other = accepted_batch(other_facility, 1).images.get()
    audit(other, other_reviewer, DecisionRequest("accepted"))

    mine = precision_report(Facility.objects.filter(pk=facility.pk))
    assert {(row.facility, row.audited_images) for row in mine} == {("dc-north", 10)}
    assert by_class(mine)["parcel"].boxes == 9
    theirs = precision_report(Facility.objects.filter(pk=other_facility.pk))
    assert {(row.facility, row.audited_images, row.boxes) for row in theirs if row.boxes} == {
        ("dc-south", 1, 1)
    }
    assert precision_report(Facility.objects.none()) == []
    both = precision_report(Facility.objects.filter(pk__in=[facility.pk, other_facility.pk]))
    assert [row.facility for row in both][::3] == ["dc-north", "dc-south"]
