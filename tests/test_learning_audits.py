"""Deciding an audit: the reviewer decides an audited image like any task. Keeping the model's
boxes confirms the result and changes nothing; a correction (boxes changed, or a reject) changes
the result the API shows and sends one `result.corrected` webhook naming the image. An open
audit never holds `batch.reviewed`, an audit verdict cannot be undone, and an audit of a batch
still processing announces nothing (its `batch.completed` shows the corrected result)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from rest_framework.test import APIClient

from inspection.models import ApiKey, Facility, Image, ReviewDecision, ReviewTask, WebhookDelivery
from inspection.pipeline.completion import complete_batch_if_done
from inspection.review import leases, undo
from inspection.review.boxes import Box
from inspection.review.decisions import DecisionRefused, DecisionRequest, decide
from inspection.webhooks import delivery as service
from inspection.webhooks.delivery import Verdict
from tests.api_support import make_batch
from tests.learning_support import ACCEPTED_BOXES, accepted_batch, audit_task
from tests.review_support import CLASSES, boxes_json
from tests.webhook_receiver import Receiver
from tests.webhook_support import Sent, deliveries_of, open_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]
CORRECTED = WebhookDelivery.Event.RESULT_CORRECTED
REVIEWED = WebhookDelivery.Event.BATCH_REVIEWED
# The reviewer keeps the parcel (nudged: IoU well above 0.5) and deletes the label box.
NUDGED_PARCEL = Box(0, CLASSES[0], 22.0, 31.0, 121.0, 152.0)


def decided(task: ReviewTask, user: Any, request: DecisionRequest) -> ReviewDecision:
    assert leases.claim_task(task, user)
    return decide(task, user, request)


def api_image(client: APIClient, image: Image) -> dict[str, Any]:
    rows = client.get(f"/api/v1/batches/{image.batch_id}/images/").json()["results"]
    [row] = [row for row in rows if row["id"] == str(image.id)]
    return dict(row)


def test_an_audit_that_keeps_the_boxes_confirms_and_changes_nothing(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any, api_client: APIClient
) -> None:
    image = accepted_batch(facility, 3, api_key=key).images.first()
    assert image is not None
    before = api_image(api_client, image)
    decision = decided(audit_task(image), reviewer, DecisionRequest("accepted"))

    assert (decision.action, decision.changed, decision.verdict) == ("accept", False, "accepted")
    assert [b["confidence"] for b in decision.before["boxes"]] == [0.93, 0.88]
    assert decision.after == decision.before
    assert api_image(api_client, image) == before  # the result is the pipeline's, as it was
    assert before["review"] is None
    assert deliveries_of(CORRECTED) == []


def test_an_audit_correction_changes_the_api_result_and_sends_the_webhook_once(
    facility: Facility,
    key: ApiKey,
    sent: Sent,
    hook: Receiver,
    reviewer: Any,
    api_client: APIClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    batch = accepted_batch(facility, 3, api_key=key)
    image = batch.images.get(position=1)
    task = audit_task(image)
    with django_capture_on_commit_callbacks(execute=True):
        decision = decided(task, reviewer, DecisionRequest("accepted", boxes=[NUDGED_PARCEL]))
    assert (decision.action, decision.changed_classes) == ("correct", ["label", "parcel"])

    shown = api_image(api_client, image)
    assert shown["status"] == "accepted"
    assert [(d["class_name"], d["box"], d["confidence"]) for d in shown["detections"]] == [
        ("parcel", [22.0, 31.0, 121.0, 152.0], None)
    ]
    assert shown["review"]["verdict"] == "accepted"
    assert shown["review"]["decided_by"] == reviewer.username
    assert shown["review"]["audit"] is True  # an audit changed what had been accepted
    assert len(shown["review"]["model_detections"]) == 2  # the model's answer is kept

    [delivery] = deliveries_of(CORRECTED)
    assert (delivery.batch_id, delivery.image_id, delivery.url) == (batch.pk, image.pk, hook.url)
    assert sent.deliveries() == [str(delivery.pk)]
    # Announcing again (a retried transaction, a second check) creates nothing more.
    assert service.announce_result_corrected(batch.pk, image.pk) == delivery
    assert len(deliveries_of(CORRECTED)) == 1
    with pytest.raises(DecisionRefused):
        decide(task, reviewer, DecisionRequest("rejected", reason="other"))

    assert service.deliver(delivery.pk) is Verdict.DELIVERED
    [request] = hook.requests
    assert request.headers["X-Inspection-Event"] == "result.corrected"
    body = json.loads(request.body)
    assert (body["event"], body["image_id"], body["batch_id"]) == (
        "result.corrected",
        str(image.pk),
        str(batch.pk),
    )
    assert body["review_pending"] == 0


def test_an_audit_reject_rejects_the_result_and_is_announced(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any, api_client: APIClient
) -> None:
    image = accepted_batch(facility, 2, api_key=key).images.first()
    assert image is not None
    request = DecisionRequest("rejected", reason="no_package", comment="empty belt")
    decided(audit_task(image), reviewer, request)
    shown = api_image(api_client, image)
    assert (shown["status"], shown["detections"]) == ("rejected", [])
    assert (shown["review"]["reason"], shown["review"]["comment"]) == ("no_package", "empty belt")
    assert [d.image_id for d in deliveries_of(CORRECTED)] == [image.pk]
    detail = api_client.get(f"/api/v1/batches/{image.batch_id}/").json()
    assert (detail["counts"]["accepted"], detail["counts"]["rejected"]) == (1, 1)


def test_two_corrections_in_one_batch_are_two_deliveries(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any
) -> None:
    first, second = accepted_batch(facility, 2, api_key=key).images.all()
    for image in (first, second):
        decided(audit_task(image), reviewer, DecisionRequest("accepted", boxes=[NUDGED_PARCEL]))
    assert {d.image_id for d in deliveries_of(CORRECTED)} == {first.pk, second.pk}


def test_an_audit_of_a_batch_still_processing_announces_nothing(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any
) -> None:
    batch = make_batch(facility, [Image.Status.ACCEPTED, Image.Status.INFERRING], api_key=key)
    image = batch.images.get(position=0)
    open_task(image)  # gives it the model's boxes
    ReviewTask.objects.filter(image=image).update(kind=ReviewTask.Kind.AUDIT, reasons=[])
    task = ReviewTask.objects.get(image=image)
    decided(task, reviewer, DecisionRequest("accepted", boxes=[NUDGED_PARCEL]))
    assert Image.objects.get(pk=image.pk).verdict == "accepted"
    assert deliveries_of(CORRECTED) == []


def test_an_open_audit_does_not_hold_batch_reviewed(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any, api_client: APIClient
) -> None:
    batch = make_batch(facility, [Image.Status.ACCEPTED, Image.Status.NEEDS_REVIEW], api_key=key)
    audited, waiting = batch.images.order_by("position")
    audit_task(audited)
    review = open_task(waiting)
    assert complete_batch_if_done(batch.pk)
    decided(review, reviewer, DecisionRequest("accepted"))
    assert [d.batch_id for d in deliveries_of(REVIEWED)] == [batch.pk]
    assert api_image(api_client, waiting)["review"]["audit"] is False  # a review's verdict


def test_an_audit_verdict_cannot_be_undone(facility: Facility, sent: Sent, reviewer: Any) -> None:
    image = accepted_batch(facility, 1).images.get()
    decision = decided(audit_task(image), reviewer, DecisionRequest("accepted"))
    assert undo.why_not(decision, reviewer, decision.decided_at) == (
        "An audit verdict cannot be undone."
    )
    with pytest.raises(DecisionRefused):
        undo.undo([decision], reviewer)


def test_only_a_member_of_the_facility_decides_its_audits(
    facility: Facility, sent: Sent, outsider: Any
) -> None:
    image = accepted_batch(facility, 1).images.get()
    task = audit_task(image)
    with pytest.raises(PermissionDenied):
        decide(task, outsider, DecisionRequest("accepted"))
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.OPEN


def test_the_task_page_shows_no_audit_and_decides_it_as_any_task(
    facility: Facility, sent: Sent, reviewer: Any, reviewer_client: Any, media_root: Any
) -> None:
    first, second = accepted_batch(facility, 2).images.order_by("position")
    confirmed, corrected = audit_task(first), audit_task(second)
    assert leases.claim_task(confirmed, reviewer)
    page = reviewer_client.get(f"/review/tasks/{confirmed.pk}/")
    assert page.status_code == 200
    assert b"audit" not in page.content.lower()  # nothing tells the reviewer
    unchanged = boxes_json(ACCEPTED_BOXES)  # what the page sends with an accept
    answer = reviewer_client.post(
        f"/review/tasks/{confirmed.pk}/decide/", {"verdict": "accepted", "boxes": unchanged}
    )
    assert answer.status_code == 302
    assert Image.objects.get(pk=first.pk).verdict == ""  # confirmed: the result stands

    corrected.refresh_from_db()  # "next" handed it over with the answer
    assert corrected.held_by(reviewer, timezone.now())
    answer = reviewer_client.post(
        f"/review/tasks/{corrected.pk}/decide/",
        {"verdict": "accepted", "boxes": boxes_json(ACCEPTED_BOXES[:1])},  # label deleted
    )
    assert answer.status_code == 302
    assert Image.objects.get(pk=second.pk).verdict == "accepted"
    assert [d.source for d in Image.objects.get(pk=second.pk).final_detections()] == ["reviewer"]
