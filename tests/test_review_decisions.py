"""Deciding a task: accept, fix and accept, reject; the verdict on the image, the reviewer's
boxes kept next to the model's, the append-only audit trail, batch counts and the REST API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from inspection.models import (
    AuditRowImmutable,
    Detection,
    Image,
    ReviewDecision,
    ReviewTask,
)
from inspection.review import leases
from inspection.review.boxes import InvalidBoxes, parse_boxes
from inspection.review.decisions import DecisionRefused, DecisionRequest, decide
from tests.review_support import boxes_json, make_member, make_task

pytestmark = pytest.mark.usefixtures("media_root")


def claimed(facility: Any, user: Any, **task_fields: Any) -> ReviewTask:
    task = make_task(facility, **task_fields)
    assert leases.claim_task(task, user)
    return task


def post_decision(client: Any, task: ReviewTask, **fields: Any) -> Any:
    return client.post(f"/review/tasks/{task.pk}/decide/", fields)


def boxes_of(image: Image, source: str) -> list[tuple[str, list[float]]]:
    rows = Detection.objects.filter(image=image, source=source).order_by("x1")
    return [(d.class_name, d.as_box()) for d in rows]


def test_accepting_keeps_the_models_boxes_as_the_human_answer(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = claimed(facility, reviewer)
    answer = post_decision(reviewer_client, task, verdict="accepted", boxes=boxes_json())
    assert answer.status_code == 302
    image = Image.objects.get(pk=task.image_id)
    assert (image.status, image.verdict, image.reviewed_by) == ("accepted", "accepted", reviewer)
    assert boxes_of(image, "reviewer") == boxes_of(image, "model")
    decision = ReviewDecision.objects.get(task=task)
    assert (decision.action, decision.changed, decision.decided_by) == ("accept", False, reviewer)
    assert decision.before["status"] == "needs_review" and decision.after["status"] == "accepted"
    assert ReviewTask.objects.get(pk=task.pk).status == "done"


def test_fixing_moves_relabels_adds_and_deletes_boxes(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = claimed(facility, reviewer)
    fixed = [
        {"class_id": 0, "box": [30, 40, 130, 160]},  # the parcel, moved
        {"class_id": 2, "box": [150, 40, 250, 90]},  # the label, called damage
        {"class_id": 1, "box": [200, 150, 300, 230]},  # a label the model missed
    ]
    post_decision(reviewer_client, task, verdict="accepted", boxes=json.dumps(fixed))
    image = Image.objects.get(pk=task.image_id)
    assert boxes_of(image, "reviewer") == [
        ("parcel", [30, 40, 130, 160]),
        ("damage", [150, 40, 250, 90]),
        ("label", [200, 150, 300, 230]),
    ]
    assert len(boxes_of(image, "model")) == 2  # the model's answer is kept
    decision = ReviewDecision.objects.get(task=task)
    assert decision.action == "correct" and decision.changed
    assert decision.changed_classes == ["damage", "label", "parcel"]
    assert [box["class_name"] for box in decision.after["boxes"]] == ["parcel", "damage", "label"]


def test_deleting_every_box_is_an_answer_too(facility: Any, reviewer: Any) -> None:
    task = claimed(facility, reviewer)
    boxes = parse_boxes("[]", task.image)
    decision = decide(task, reviewer, DecisionRequest("accepted", boxes))
    assert decision.changed and decision.after["boxes"] == []
    assert Image.objects.get(pk=task.image_id).final_detections() == []


def test_rejecting_stores_the_reason_and_comment(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = claimed(facility, reviewer)
    post_decision(
        reviewer_client, task, verdict="rejected", reason="unusable_image", comment="lens fogged"
    )
    image = Image.objects.get(pk=task.image_id)
    assert (image.status, image.reason, image.reason_detail) == (
        "rejected",
        "unusable_image",
        "lens fogged",
    )
    decision = ReviewDecision.objects.get(task=task)
    assert (decision.action, decision.reason, decision.changed) == (
        "reject",
        "unusable_image",
        False,
    )


def test_a_reject_without_a_reason_is_refused_and_changes_nothing(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = claimed(facility, reviewer)
    answer = post_decision(reviewer_client, task, verdict="rejected", reason="")
    assert answer.status_code == 302 and answer.url == f"/review/tasks/{task.pk}/"
    assert Image.objects.get(pk=task.image_id).status == "needs_review"
    assert not ReviewDecision.objects.exists()
    assert ReviewTask.objects.get(pk=task.pk).status == "claimed"


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '[{"class_id": 9, "box": [1, 1, 20, 20]}]',
        '[{"class_id": 0, "box": [5, 5, 5.5, 30]}]',
        '[{"class_id": 0}]',
    ],
)
def test_invalid_boxes_are_refused(facility: Any, raw: str) -> None:
    with pytest.raises(InvalidBoxes):
        parse_boxes(raw, make_task(facility).image)


def test_boxes_are_clamped_to_the_image(facility: Any) -> None:
    (box,) = parse_boxes(
        '[{"class_id": 1, "box": [-10, 200, 400, 100]}]', make_task(facility).image
    )
    assert [box.x1, box.y1, box.x2, box.y2] == [0, 100, 320, 200]


def test_a_decided_task_cannot_be_decided_again(facility: Any, reviewer: Any) -> None:
    task = claimed(facility, reviewer)
    decide(task, reviewer, DecisionRequest("accepted"))
    with pytest.raises(DecisionRefused):
        decide(task, reviewer, DecisionRequest("rejected", reason="other"))
    assert ReviewDecision.objects.count() == 1


def test_after_a_decision_the_reviewer_gets_the_next_task(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    task = claimed(facility, reviewer)
    following = make_task(facility)
    answer = post_decision(reviewer_client, task, verdict="accepted", boxes=boxes_json())
    assert answer.url == f"/review/tasks/{following.pk}/"
    assert ReviewTask.objects.get(pk=following.pk).claimed_by == reviewer


# --- the audit trail ----------------------------------------------------------------------------


def test_decisions_are_appended_never_changed(facility: Any, reviewer: Any) -> None:
    first = decide(claimed(facility, reviewer), reviewer, DecisionRequest("accepted"))
    second_task = claimed(facility, reviewer)
    decide(second_task, reviewer, DecisionRequest("rejected", reason="no_package"))
    assert ReviewDecision.objects.count() == 2
    first.comment = "edited later"
    with pytest.raises(AuditRowImmutable):
        first.save()
    with pytest.raises(AuditRowImmutable):
        first.delete()
    with pytest.raises(AuditRowImmutable):
        ReviewDecision.objects.filter(pk=first.pk).update(comment="edited")
    with pytest.raises(AuditRowImmutable):
        ReviewDecision.objects.all().delete()
    assert ReviewDecision.objects.get(pk=first.pk).comment == ""


def test_the_admin_shows_decisions_read_only(facility: Any, reviewer: Any) -> None:
    decision = decide(claimed(facility, reviewer), reviewer, DecisionRequest("accepted"))
    admin = site._registry[ReviewDecision]
    request = RequestFactory().get("/")
    request.user = make_member("boss", facility, role="admin")
    request.user.is_superuser = True
    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request, decision)
    assert not admin.has_delete_permission(request, decision)


# --- what integrators see ----------------------------------------------------------------------


def test_the_api_shows_the_verdict_and_who_decided(
    facility: Any, reviewer: Any, api_client: Any
) -> None:
    task = claimed(facility, reviewer)
    fixed = [{"class_id": 1, "box": [10, 10, 60, 60]}]
    decide(task, reviewer, DecisionRequest("accepted", parse_boxes(json.dumps(fixed), task.image)))
    body = api_client.get(f"/api/v1/batches/{task.image.batch_id}/images/").json()
    (image,) = body["results"]
    assert image["status"] == "accepted"
    assert image["detections"] == [
        {
            "class_id": 1,
            "class_name": "label",
            "confidence": None,
            "box": [10.0, 10.0, 60.0, 60.0],
            "accepted": True,
        }
    ]
    review = image["review"]
    assert (review["verdict"], review["decided_by"]) == ("accepted", "rita")
    assert review["decided_at"] and len(review["model_detections"]) == 2
    rows = api_client.get(f"/api/v1/batches/{task.image.batch_id}/results.json").json()["rows"]
    assert [row["class_name"] for row in rows] == ["label"]


def test_an_undecided_image_has_no_review_in_the_api(facility: Any, api_client: Any) -> None:
    task = make_task(facility)
    (image,) = api_client.get(f"/api/v1/batches/{task.image.batch_id}/images/").json()["results"]
    assert image["review"] is None and len(image["detections"]) == 2


def test_batch_counts_follow_the_verdicts(facility: Any, reviewer: Any, api_client: Any) -> None:
    task = claimed(facility, reviewer)
    url = f"/api/v1/batches/{task.image.batch_id}/"
    assert api_client.get(url).json()["counts"]["needs_review"] == 1
    decide(task, reviewer, DecisionRequest("rejected", reason="ambiguous"))
    counts = api_client.get(url).json()["counts"]
    assert (counts["needs_review"], counts["rejected"], counts["accepted"]) == (0, 1, 0)
    rejected = api_client.get(f"{url}images/?status=rejected").json()["results"]
    assert [image["review"]["reason"] for image in rejected] == ["ambiguous"]
