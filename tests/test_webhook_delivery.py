"""Delivering `batch.completed`: exactly one delivery per completion, created with it and
published after the commit; a signed JSON POST to a real loopback receiver; retries with backoff
on 5xx, 429, timeouts and refused connections; immediate failure on other answers; never sent
again once delivered; lost messages re-published; `redeliver_webhooks` re-queues."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from inspection.models import ApiKey, Facility, WebhookDelivery
from inspection.pipeline.completion import complete_batch_if_done, complete_finished_batches
from inspection.webhooks import delivery as service
from inspection.webhooks.delivery import Verdict
from tests.webhook_receiver import Receiver
from tests.webhook_support import Sent, completed_delivery, finished_batch, key_with_webhook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]
Status = WebhookDelivery.Status


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a service call and then its after-commit callbacks (tests run inside a transaction
    that never commits)."""

    def run(function: Callable[..., Any], *args: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args)

    return run


def due_now(delivery: WebhookDelivery) -> WebhookDelivery:
    """Skip the backoff wait (the test does not sleep through it)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    delivery.refresh_from_db()
    return delivery


def reload(delivery: WebhookDelivery) -> WebhookDelivery:
    delivery.refresh_from_db()
    return delivery


# --- created with the completion ----------------------------------------------------------------


def test_completing_a_batch_creates_one_delivery_and_publishes_it_after_commit(
    facility: Facility, key: ApiKey, sent: Sent, django_capture_on_commit_callbacks: Any
) -> None:
    batch = finished_batch(key, facility)
    with django_capture_on_commit_callbacks() as callbacks:
        assert complete_batch_if_done(batch.pk)
        assert sent.calls == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.batch_id, delivery.url, delivery.event) == (
        batch.pk,
        key.webhook_url,
        "batch.completed",
    )
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 0)
    assert sent.calls == [
        (
            "inspection.deliver_webhook",
            [str(delivery.pk)],
            {"queue": "maintenance", "task_id": f"deliver_webhook:{delivery.pk}:0"},
        )
    ]


def test_completing_twice_or_sweeping_again_creates_no_second_delivery(
    facility: Facility, key: ApiKey, sent: Sent, django_capture_on_commit_callbacks: Any
) -> None:
    batch = finished_batch(key, facility)
    with django_capture_on_commit_callbacks(execute=True):
        assert complete_batch_if_done(batch.pk)
        assert not complete_batch_if_done(batch.pk)
        assert complete_finished_batches() == 0
        # Even a second completion event (a replayed batch completing again) adds nothing.
        service.announce_batch_completed(batch.pk)
    assert WebhookDelivery.objects.count() == 1
    assert len(sent.deliveries()) == 1


def test_the_sweeper_completing_a_batch_creates_its_delivery(
    facility: Facility, key: ApiKey, sent: Sent
) -> None:
    finished_batch(key, facility)
    assert complete_finished_batches() == 1
    assert WebhookDelivery.objects.count() == 1


def test_no_delivery_without_a_webhook(facility: Facility, api_key: str, sent: Sent) -> None:
    batch = finished_batch(ApiKey.objects.get(), facility)
    assert complete_batch_if_done(batch.pk)
    assert not WebhookDelivery.objects.exists()
    assert sent.calls == []


def test_no_delivery_for_a_batch_of_a_revoked_key(
    facility: Facility, key: ApiKey, sent: Sent
) -> None:
    batch = finished_batch(key, facility)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert complete_batch_if_done(batch.pk)
    assert not WebhookDelivery.objects.exists()
    assert sent.calls == []


def test_a_key_revoked_before_the_attempt_fails_it_unsent(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent
) -> None:
    delivery = completed_delivery(key, facility)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert service.deliver(delivery.pk) is Verdict.FAILED
    delivery = reload(delivery)
    assert delivery.status == Status.FAILED
    assert delivery.last_error == "The batch's API key was revoked."
    assert hook.requests == []


def test_a_batch_url_overrides_the_key_url(
    facility: Facility, key: ApiKey, sent: Sent, hook: Receiver
) -> None:
    delivery = completed_delivery(key, facility, webhook_url=hook.url + "/batch")
    assert delivery.url == hook.url + "/batch"


# --- the request ---------------------------------------------------------------------------------


def test_the_post_is_signed_json_describing_the_batch(
    facility: Facility,
    key: ApiKey,
    hook: Receiver,
    sent: Sent,
    api_client: APIClient,
    settings: Any,
) -> None:
    settings.WEBHOOK_PUBLIC_BASE_URL = "https://inspection.example.com/"
    delivery = completed_delivery(key, facility)
    assert service.deliver(delivery.pk) is Verdict.DELIVERED
    [request] = hook.requests
    headers = request.headers
    assert request.path == "/hooks/inspection"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Inspection-Event"] == "batch.completed"
    assert headers["X-Inspection-Delivery"] == str(delivery.pk)
    timestamp = headers["X-Inspection-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(
        key.webhook_secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Inspection-Signature"] == f"sha256={expected}"

    body = json.loads(request.body)
    detail = api_client.get(f"/api/v1/batches/{delivery.batch_id}/").json()
    assert body == {
        "event": "batch.completed",
        "delivery_id": str(delivery.pk),
        "batch_id": str(delivery.batch_id),
        "facility": "dc-north",
        "status": "completed",
        "counts": detail["counts"],
        "completed_at": detail["completed_at"],
        "review_pending": 1,  # results not final yet: a `batch.reviewed` will follow
        "results_url": (
            f"https://inspection.example.com/api/v1/batches/{delivery.batch_id}/results.json"
        ),
    }
    assert (detail["counts"]["total"], detail["counts"]["needs_review"]) == (3, 1)


def test_a_signature_made_with_another_secret_does_not_verify(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent
) -> None:
    from inspection.webhooks.signing import verify

    service.deliver(completed_delivery(key, facility).pk)
    [request] = hook.requests
    timestamp = int(request.headers["X-Inspection-Timestamp"])
    header = request.headers["X-Inspection-Signature"]
    assert verify(key.webhook_secret, timestamp, request.body, header, time.time())
    assert not verify("whsec_other", timestamp, request.body, header, time.time())
    assert not verify(key.webhook_secret, timestamp, request.body + b" ", header, time.time())
    assert not verify(key.webhook_secret, timestamp, request.body, header, time.time() + 301)


# --- outcomes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [500, 503, 429])
def test_a_server_error_or_429_schedules_a_retry_with_backoff(
    facility: Facility,
    key: ApiKey,
    hook: Receiver,
    sent: Sent,
    committed: Callable[..., Any],
    answer: int,
) -> None:
    hook.answers.append(answer)
    delivery = completed_delivery(key, facility)
    before = timezone.now()
    assert committed(service.deliver, delivery.pk) is Verdict.RETRY
    delivery = reload(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.PENDING,
        1,
        answer,
    )
    assert delivery.last_error == f"HTTP {answer}"
    assert delivery.next_attempt_at is not None
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 29 <= wait <= 32
    name, args, options = sent.calls[-1]
    assert (name, args, options["countdown"]) == (
        "inspection.deliver_webhook",
        [str(delivery.pk)],
        30,
    )
    assert options["task_id"] == f"deliver_webhook:{delivery.pk}:1"


def test_a_timeout_schedules_a_retry(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent, settings: Any
) -> None:
    settings.WEBHOOK_READ_TIMEOUT = 0.3
    hook.answers.append(None)  # answers after 1.5 s
    delivery = completed_delivery(key, facility)
    started = time.monotonic()
    assert service.deliver(delivery.pk) is Verdict.RETRY
    assert time.monotonic() - started < 1.4
    delivery = reload(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.PENDING,
        1,
        None,
    )
    assert "Timeout" in delivery.last_error


def test_a_refused_connection_schedules_a_retry(facility: Facility, sent: Sent) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    key = key_with_webhook(facility, f"http://127.0.0.1:{closed_port}/hook")
    delivery = completed_delivery(key, facility)
    assert service.deliver(delivery.pk) is Verdict.RETRY
    assert "ConnectionError" in reload(delivery).last_error


@pytest.mark.parametrize("answer", [400, 401, 404, 410])
def test_a_client_error_fails_at_once(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent, answer: int
) -> None:
    hook.answers.append(answer)
    delivery = completed_delivery(key, facility)
    sent.calls.clear()
    assert service.deliver(delivery.pk) is Verdict.FAILED
    delivery = reload(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.FAILED,
        1,
        answer,
    )
    assert delivery.next_attempt_at is None
    assert sent.calls == []
    assert service.deliver(delivery.pk) is Verdict.SKIPPED
    assert len(hook.requests) == 1


def test_a_redirect_is_not_followed(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent
) -> None:
    hook.answers.append(302)
    delivery = completed_delivery(key, facility)
    assert service.deliver(delivery.pk) is Verdict.FAILED
    assert [request.path for request in hook.requests] == ["/hooks/inspection"]
    assert "redirects are not followed" in reload(delivery).last_error


def test_retries_stop_at_the_cap_with_the_last_error(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent, settings: Any
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    hook.answers.extend([500, 502, 503])
    delivery = completed_delivery(key, facility)
    verdicts = [service.deliver(due_now(delivery).pk) for _ in range(3)]
    assert verdicts == [Verdict.RETRY, Verdict.RETRY, Verdict.FAILED]
    delivery = reload(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        Status.FAILED,
        3,
        "HTTP 503",
    )
    assert len(hook.requests) == 3


def test_the_backoff_doubles_up_to_its_cap_over_about_an_hour() -> None:
    waits = [service.backoff_seconds(attempt) for attempt in range(1, 8)]
    assert waits == [30, 60, 120, 240, 480, 960, 1800]
    assert 55 * 60 <= sum(waits) <= 65 * 60


def test_a_retry_succeeds_and_is_then_never_sent_again(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent
) -> None:
    hook.answers.append(500)
    delivery = completed_delivery(key, facility)
    assert service.deliver(delivery.pk) is Verdict.RETRY
    assert service.deliver(delivery.pk) is Verdict.SKIPPED  # not due yet
    assert service.deliver(due_now(delivery).pk) is Verdict.DELIVERED
    delivery = reload(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.DELIVERED,
        2,
        200,
    )
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    # A repeated message, a re-publish, a redelivery request: nothing is sent again.
    assert service.deliver(due_now(delivery).pk) is Verdict.SKIPPED
    assert service.redeliver(WebhookDelivery.objects.all()).skipped == 1
    assert service.republish_due(timezone.now() + timedelta(days=1)) == 0
    assert len(hook.requests) == 2
    ids = {request.headers["X-Inspection-Delivery"] for request in hook.requests}
    assert ids == {str(delivery.pk)}  # the receiver's dedup key is stable across attempts


def test_an_attempt_is_claimed_by_one_worker_only(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent
) -> None:
    delivery = completed_delivery(key, facility)
    first, second = (WebhookDelivery.objects.get(pk=delivery.pk) for _ in range(2))
    now = timezone.now()
    assert first.claim(now, 60)
    assert not second.claim(now, 60)
    # While the claim holds, a repeated message sends nothing.
    assert service.deliver(delivery.pk) is Verdict.SKIPPED
    assert hook.requests == []


def test_a_private_target_is_refused_at_delivery_time_too(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent, settings: Any
) -> None:
    delivery = completed_delivery(key, facility)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False  # e.g. its DNS name now points inside
    assert service.deliver(delivery.pk) is Verdict.FAILED
    assert "non-public" in reload(delivery).last_error
    assert hook.requests == []


# --- lost messages and redelivery ------------------------------------------------------------


def test_overdue_deliveries_are_republished(
    facility: Facility,
    key: ApiKey,
    hook: Receiver,
    sent: Sent,
    committed: Callable[..., Any],
    settings: Any,
) -> None:
    overdue = completed_delivery(key, facility)
    fresh = completed_delivery(key, facility)
    delivered = completed_delivery(key, facility)
    long_ago = timezone.now() - timedelta(seconds=settings.WEBHOOK_SWEEP_INTERVAL_SECONDS + 5)
    WebhookDelivery.objects.filter(pk__in=[overdue.pk, delivered.pk]).update(
        next_attempt_at=long_ago
    )
    WebhookDelivery.objects.filter(pk=delivered.pk).update(status=Status.DELIVERED)
    sent.calls.clear()
    assert committed(service.republish_due) == 1
    # `fresh` became due just now: its own message is surely still queued.
    assert sent.deliveries() == [str(overdue.pk)]
    assert reload(fresh).status == Status.PENDING


def redeliver_command(*args: str) -> str:
    out = StringIO()
    call_command("redeliver_webhooks", *args, stdout=out)
    return out.getvalue()


def test_redeliver_failed_gives_failed_deliveries_a_fresh_start(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent, committed: Callable[..., Any]
) -> None:
    hook.answers.append(400)
    failed = completed_delivery(key, facility)
    service.deliver(failed.pk)
    delivered = completed_delivery(key, facility)
    service.deliver(delivered.pk)
    sent.calls.clear()
    assert "Re-queued 1 failed" in committed(redeliver_command, "--failed")
    failed = reload(failed)
    assert (failed.status, failed.attempts) == (Status.PENDING, 0)
    assert sent.deliveries() == [str(failed.pk)]
    assert service.deliver(failed.pk) is Verdict.DELIVERED
    assert reload(delivered).status == Status.DELIVERED
    assert len(hook.requests) == 3


def test_redeliver_a_batch(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent, committed: Callable[..., Any]
) -> None:
    hook.answers.extend([400, 400])
    mine, other = completed_delivery(key, facility), completed_delivery(key, facility)
    service.deliver(mine.pk)
    service.deliver(other.pk)
    sent.calls.clear()
    report = committed(redeliver_command, "--batch", str(mine.batch_id))
    assert "Re-queued 1 failed" in report
    assert sent.deliveries() == [str(mine.pk)]
    assert reload(other).status == Status.FAILED


def test_redeliver_needs_a_batch_id_or_failed(db: None) -> None:
    with pytest.raises(CommandError):
        redeliver_command()
    with pytest.raises(CommandError, match="Not a batch id"):
        redeliver_command("--batch", "nope")


# --- the REST batch detail -----------------------------------------------------------------------


def test_the_batch_detail_shows_the_webhook_state(
    facility: Facility, api_key: str, api_client: APIClient, hook: Receiver, sent: Sent
) -> None:
    key = ApiKey.objects.get()
    ApiKey.objects.filter(pk=key.pk).update(webhook_url=hook.url)
    batch = finished_batch(ApiKey.objects.get(), facility)
    url = f"/api/v1/batches/{batch.pk}/"
    assert api_client.get(url).json()["webhook"] is None
    assert complete_batch_if_done(batch.pk)
    pending = {"url": hook.url, "status": "pending", "attempts": 0, "delivered_at": None}
    assert api_client.get(url).json()["webhook"] == pending
    service.deliver(WebhookDelivery.objects.get().pk)
    shown = api_client.get(url).json()["webhook"]
    assert (shown["status"], shown["attempts"]) == ("delivered", 1)
    assert shown["delivered_at"] is not None
    listed = api_client.get("/api/v1/batches/").json()["results"]
    assert [item["webhook"]["status"] for item in listed] == ["delivered"]


def test_webhook_state_is_scoped_like_its_batch(
    facility: Facility, key: ApiKey, outsider_client: APIClient, sent: Sent
) -> None:
    delivery = completed_delivery(key, facility)
    assert outsider_client.get(f"/api/v1/batches/{delivery.batch_id}/").status_code == 404


def test_the_readme_receiver_example_verifies_a_real_delivery(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent
) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = readme.split("### Webhooks", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(example, namespace)  # noqa: S102 - our own documentation
    service.deliver(completed_delivery(key, facility).pk)
    [request] = hook.requests
    assert namespace["verify"](key.webhook_secret, request.headers, request.body)
    assert not namespace["verify"]("whsec_wrong", request.headers, request.body)
