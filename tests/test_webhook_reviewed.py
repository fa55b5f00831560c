"""Announcing `batch.reviewed`: once the last image a completed batch left in review is decided,
one signed delivery with the reviewed results, created with that verdict; nothing while a review
is open, for a batch that needed none, or for a batch still processing; one delivery whatever
is decided twice or at the same moment. `batch.completed` says how many reviews are pending."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from inspection.models import ApiKey, Facility, Image, ReviewTask, WebhookDelivery
from inspection.pipeline import completion
from inspection.pipeline.completion import complete_batch_if_done
from inspection.review import decisions, leases
from inspection.review.batch_reviewed import announce_if_reviewed
from inspection.review.decisions import DecisionRefused, DecisionRequest, decide
from inspection.webhooks import delivery as service
from inspection.webhooks.delivery import Verdict
from tests.api_support import make_batch
from tests.review_support import make_member
from tests.webhook_receiver import Received, Receiver
from tests.webhook_support import Sent, completed_in_review, deliveries_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]
COMPLETED = WebhookDelivery.Event.BATCH_COMPLETED
REVIEWED = WebhookDelivery.Event.BATCH_REVIEWED
ACCEPT = DecisionRequest("accepted")
REJECT = DecisionRequest("rejected", reason="unusable_image")


def decided(task: ReviewTask, user: Any, request: DecisionRequest = ACCEPT) -> None:
    assert leases.claim_task(task, user)
    decide(task, user, request)


def request_of(hook: Receiver, event: str) -> Received:
    [request] = [r for r in hook.requests if r.headers["X-Inspection-Event"] == event]
    return request


def body_of(hook: Receiver, event: str) -> dict[str, Any]:
    return dict(json.loads(request_of(hook, event).body))


def thread_of(errors: list[BaseException], function: Any, *args: Any) -> threading.Thread:
    """`function(*args)` in a thread of its own (its own connection); what it raises lands in
    `errors` for the test to assert on, instead of being lost with the thread."""

    def run() -> None:
        try:
            function(*args)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


def in_review_while_processing(key: ApiKey, facility: Facility) -> tuple[ReviewTask, Image]:
    """A processing batch: an image in review with its open task, and one still inferring."""
    batch = make_batch(facility, [Image.Status.NEEDS_REVIEW, Image.Status.INFERRING], api_key=key)
    waiting, inferring = batch.images.all()
    return ReviewTask.objects.create(image=waiting, facility=facility, reasons=["low"]), inferring


# --- the last verdict ---------------------------------------------------------------------------


def test_the_last_verdict_announces_batch_reviewed_with_the_reviewed_results(
    facility: Facility,
    key: ApiKey,
    hook: Receiver,
    sent: Sent,
    reviewer: Any,
    api_client: APIClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first, last = completed_in_review(key, facility, reviews=2)
    decided(first, reviewer)
    with django_capture_on_commit_callbacks() as callbacks:
        decided(last, reviewer, REJECT)
        assert len(sent.deliveries()) == 0  # nothing leaves before the verdict commits
    for callback in callbacks:
        callback()
    [delivery] = deliveries_of(REVIEWED)
    assert (delivery.batch_id, delivery.url) == (first.image.batch_id, hook.url)
    assert sent.deliveries() == [str(delivery.pk)]

    assert service.deliver(delivery.pk) is Verdict.DELIVERED
    request = request_of(hook, REVIEWED)
    headers = request.headers
    assert headers["X-Inspection-Delivery"] == str(delivery.pk)
    signed = f"{headers['X-Inspection-Timestamp']}.".encode() + request.body
    digest = hmac.new(key.webhook_secret.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["X-Inspection-Signature"] == f"sha256={digest}"

    body = json.loads(request.body)
    detail = api_client.get(f"/api/v1/batches/{delivery.batch_id}/").json()
    service.deliver(deliveries_of(COMPLETED)[0].pk)
    assert body.keys() == body_of(hook, COMPLETED).keys()  # the same shape as batch.completed
    assert (body["event"], body["delivery_id"]) == ("batch.reviewed", str(delivery.pk))
    assert (body["status"], body["completed_at"]) == ("completed", detail["completed_at"])
    assert body["counts"] == detail["counts"]
    assert (body["counts"]["accepted"], body["counts"]["rejected"]) == (2, 1)
    assert (body["counts"]["needs_review"], body["review_pending"]) == (0, 0)
    rows = api_client.get(urlsplit(body["results_url"]).path).json()["rows"]
    final = {(row["position"], row["status"], row["confidence"]) for row in rows}
    assert final == {
        (0, "accepted", None),  # accepted by the pipeline (no boxes in this fixture)
        (1, "accepted", None),  # the reviewer's boxes: no confidence
        (2, "rejected", None),
    }


def test_a_verdict_that_leaves_a_review_open_announces_nothing(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any
) -> None:
    first, second, _ = completed_in_review(key, facility, reviews=3)
    decided(first, reviewer)
    assert leases.claim_task(second, make_member("rex", facility))  # claimed, still open
    assert not announce_if_reviewed(first.image.batch_id)
    assert deliveries_of(REVIEWED) == []
    assert len(deliveries_of(COMPLETED)) == 1


def test_a_task_left_open_holds_the_announcement_even_with_no_image_waiting(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any
) -> None:
    first, second = completed_in_review(key, facility, reviews=2)
    decided(first, reviewer)
    # An inconsistent leftover (its image decided elsewhere): the review is not over yet.
    Image.objects.filter(pk=second.image_id).update(status=Image.Status.ACCEPTED)
    assert not announce_if_reviewed(first.image.batch_id)
    assert deliveries_of(REVIEWED) == []


def test_a_batch_that_needed_no_review_never_gets_batch_reviewed(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any, hook: Receiver
) -> None:
    batch = make_batch(facility, [Image.Status.ACCEPTED, Image.Status.FAILED], api_key=key)
    assert complete_batch_if_done(batch.pk)
    [completed] = deliveries_of(COMPLETED)
    # Another batch's last verdict, and a direct check of this one, announce nothing here.
    [other] = completed_in_review(key, facility, reviews=1)
    decided(other, reviewer)
    assert not announce_if_reviewed(batch.pk)
    assert [d.batch_id for d in deliveries_of(REVIEWED)] == [other.image.batch_id]
    service.deliver(completed.pk)
    assert body_of(hook, COMPLETED)["review_pending"] == 0  # results are final


def test_a_batch_whose_reviews_end_before_it_completes_gets_no_batch_reviewed(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any, hook: Receiver
) -> None:
    task, inferring = in_review_while_processing(key, facility)
    batch = task.image.batch
    decided(task, reviewer)
    assert deliveries_of(REVIEWED) == []
    Image.objects.filter(pk=inferring.pk).update(status=Image.Status.ACCEPTED)
    assert complete_batch_if_done(batch.pk)
    [completed] = deliveries_of(COMPLETED)
    service.deliver(completed.pk)
    body = body_of(hook, COMPLETED)
    assert (body["review_pending"], body["counts"]["accepted"]) == (0, 2)  # already final
    assert deliveries_of(REVIEWED) == []


def test_the_completed_body_counts_the_reviews_still_pending(
    facility: Facility, key: ApiKey, sent: Sent, hook: Receiver, reviewer: Any
) -> None:
    first, _ = completed_in_review(key, facility, reviews=2)
    decided(first, reviewer)
    [completed] = deliveries_of(COMPLETED)
    service.deliver(completed.pk)
    body = body_of(hook, COMPLETED)
    assert (body["event"], body["review_pending"], body["counts"]["needs_review"]) == (
        "batch.completed",
        1,
        1,
    )


# --- exactly once -------------------------------------------------------------------------------


def test_deciding_twice_or_checking_again_creates_one_delivery(
    facility: Facility,
    key: ApiKey,
    sent: Sent,
    reviewer: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    [task] = completed_in_review(key, facility, reviews=1)
    with django_capture_on_commit_callbacks(execute=True):
        decided(task, reviewer)
        with pytest.raises(DecisionRefused):
            decide(task, reviewer, ACCEPT)  # a retried POST of the same verdict
        assert announce_if_reviewed(task.image.batch_id)  # a check run again finds it done...
        service.announce_batch_reviewed(task.image.batch_id)
    [delivery] = deliveries_of(REVIEWED)  # ...and adds nothing
    assert sent.deliveries().count(str(delivery.pk)) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_last_verdicts_decided_at_the_same_moment_announce_once(
    facility: Facility, key: ApiKey, sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = completed_in_review(key, facility, reviews=2)
    reviewers = [make_member(name, facility) for name in ("rita", "rex")]
    pairs = list(zip(tasks, reviewers, strict=True))
    for task, user in pairs:
        assert leases.claim_task(task, user)
    # Both verdicts are written, uncommitted, before either checks the batch.
    both_decided = threading.Barrier(2, timeout=10)
    real_check = decisions.announce_if_reviewed
    monkeypatch.setattr(
        decisions, "announce_if_reviewed", lambda b: (both_decided.wait(), real_check(b))[1]
    )
    errors: list[BaseException] = []
    threads = [thread_of(errors, decide, task, user, ACCEPT) for task, user in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert Image.objects.filter(status=Image.Status.NEEDS_REVIEW).count() == 0
    [delivery] = deliveries_of(REVIEWED)
    assert sent.deliveries().count(str(delivery.pk)) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_a_last_verdict_racing_the_completion_waits_for_it_and_announces(
    facility: Facility, key: ApiKey, sent: Sent, reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    task, inferring = in_review_while_processing(key, facility)
    batch = task.image.batch
    assert leases.claim_task(task, reviewer)
    Image.objects.filter(pk=inferring.pk).update(status=Image.Status.ACCEPTED)
    # The completion has marked the batch completed (the image still in review) and has not
    # committed yet when the verdict checks the batch.
    marked, go = threading.Event(), threading.Event()
    real_announce = completion.webhooks.announce_batch_completed

    def announce_when_let_go(batch_id: Any) -> WebhookDelivery | None:
        marked.set()
        go.wait(10)
        return real_announce(batch_id)

    monkeypatch.setattr(completion.webhooks, "announce_batch_completed", announce_when_let_go)
    errors: list[BaseException] = []
    completing = thread_of(errors, complete_batch_if_done, batch.pk)
    deciding = thread_of(errors, decide, task, reviewer, ACCEPT)
    completing.start()
    assert marked.wait(10)
    deciding.start()
    deciding.join(timeout=1)  # it waits for the batch row (or, unlocked, would be done by now)
    go.set()
    for thread in (completing, deciding):
        thread.join(timeout=30)
    assert errors == []
    assert [d.batch_id for d in deliveries_of(COMPLETED)] == [batch.pk]
    assert [d.batch_id for d in deliveries_of(REVIEWED)] == [batch.pk]


# --- the REST batch detail ----------------------------------------------------------------------


def test_the_batch_detail_shows_both_deliveries_read_at_once(
    facility: Facility,
    api_key: str,
    api_client: APIClient,
    hook: Receiver,
    sent: Sent,
    reviewer: Any,
) -> None:
    ApiKey.objects.filter(pk=ApiKey.objects.get().pk).update(webhook_url=hook.url)
    [task] = completed_in_review(ApiKey.objects.get(), facility, reviews=1)
    url = f"/api/v1/batches/{task.image.batch_id}/"
    shown = api_client.get(url).json()
    assert (shown["webhook"]["status"], shown["webhook_reviewed"]) == ("pending", None)
    decided(task, reviewer)
    service.deliver(deliveries_of(REVIEWED)[0].pk)
    with CaptureQueriesContext(connection) as queries:
        shown = api_client.get(url).json()
    reads = [q["sql"] for q in queries if '"inspection_webhookdelivery"' in q["sql"]]
    assert len(reads) == 1, reads  # both fields from one read of the deliveries
    assert shown["webhook"] == {
        "url": hook.url,
        "status": "pending",
        "attempts": 0,
        "delivered_at": None,
    }  # still the `batch.completed` delivery, as before
    assert (shown["webhook_reviewed"]["status"], shown["webhook_reviewed"]["attempts"]) == (
        "delivered",
        1,
    )
    listed = api_client.get("/api/v1/batches/").json()["results"]
    assert [item["webhook_reviewed"]["status"] for item in listed] == ["delivered"]


def test_a_batch_without_review_shows_no_reviewed_delivery(
    facility: Facility, api_key: str, api_client: APIClient, hook: Receiver, sent: Sent
) -> None:
    ApiKey.objects.filter(pk=ApiKey.objects.get().pk).update(webhook_url=hook.url)
    batch = make_batch(facility, [Image.Status.ACCEPTED], api_key=ApiKey.objects.get())
    assert complete_batch_if_done(batch.pk)
    shown = api_client.get(f"/api/v1/batches/{batch.pk}/").json()
    assert shown["webhook"] is not None and shown["webhook_reviewed"] is None
