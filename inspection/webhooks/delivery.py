"""Webhook deliveries: created with the event, in its transaction; sent by a worker, one attempt
per message; retried with backoff on network errors, timeouts, 5xx and 429; failed at once on
any other answer; never sent again once delivered.

Every attempt is claimed by a conditional UPDATE (see `WebhookDelivery.claim`), so a repeated
or re-published message sends nothing while an attempt runs or after the delivery ended. The
database is the schedule: a lost message is re-published by `republish_due`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from inspection import task_names
from inspection.messaging import send
from inspection.models import ApiKey, Batch, WebhookDelivery
from inspection.webhooks.payload import body_of
from inspection.webhooks.signing import signature
from inspection.webhooks.targets import InvalidWebhookUrl, UnresolvableHost, check_target

logger = logging.getLogger(__name__)

# Seconds an attempt holds its claim: longer than the delivery task's hard time limit.
CLAIM_SECONDS = 60
REPUBLISH_LIMIT = 500
# The longest delay sent as a delayed message: under the broker's visibility timeout
# (config/celery_config.py), past which Redis hands a held message out again.
MAX_COUNTDOWN_SECONDS = 240
USER_AGENT = "Inspection-Webhooks/1"
Status = WebhookDelivery.Status
Event = WebhookDelivery.Event


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # not claimed: not due, taken by another worker, or already ended


@dataclass(frozen=True)
class Attempt:
    verdict: Verdict
    status_code: int | None = None
    error: str = ""


# --- creating ----------------------------------------------------------------------------------


def announce_batch_completed(batch_id: Any) -> WebhookDelivery | None:
    """Run inside the completion's transaction."""
    return announce(batch_id, Event.BATCH_COMPLETED)


def announce_batch_reviewed(batch_id: Any) -> WebhookDelivery | None:
    """Run inside the last verdict's transaction (see
    `review.batch_reviewed.announce_if_reviewed`)."""
    return announce(batch_id, Event.BATCH_REVIEWED)


def announce_result_corrected(batch_id: Any, image_id: Any) -> WebhookDelivery | None:
    """Run inside the audit verdict's transaction that changed the image's result (see
    `learning.audits`): one delivery per image and URL."""
    return announce(batch_id, Event.RESULT_CORRECTED, image_id)


def announce(batch_id: Any, event: str, image_id: Any = None) -> WebhookDelivery | None:
    """Create the batch's delivery of `event` (about one of its images, for an image event) in
    the caller's transaction (one per batch, event, image and URL, whatever runs twice) and
    publish it after the commit."""
    batch = Batch.objects.select_related("api_key").get(pk=batch_id)
    url = target_url(batch)
    if not url:
        return None
    delivery, created = WebhookDelivery.objects.get_or_create(
        batch=batch,
        event=event,
        url=url,
        image_id=image_id,
        defaults={"next_attempt_at": timezone.now()},
    )
    if created:
        publish(delivery)
    return delivery


def target_url(batch: Batch) -> str:
    """The batch's own URL, else its key's; none without an active key that can sign (a revoked
    key's integration is cut off from results, the webhook included)."""
    key = batch.api_key
    if key is None or signing_refusal(key):
        return ""
    return batch.webhook_url or key.webhook_url


def publish(delivery: WebhookDelivery, countdown: int = 0) -> None:
    """After the commit; a broker error is logged, not raised (the row is the schedule). A wait
    longer than the broker keeps a held message hidden (MAX_COUNTDOWN_SECONDS) is not sent as a
    delayed message, which Redis would hand out again and again while it waits: the periodic
    re-publisher sends the delivery when it is due."""
    if countdown > MAX_COUNTDOWN_SECONDS:
        return
    send = partial(_send, str(delivery.pk), delivery.attempts, countdown)
    transaction.on_commit(send, robust=True)


def _send(delivery_id: str, attempt: int, countdown: int) -> None:
    task_id = f"deliver_webhook:{delivery_id}:{attempt}"
    send(
        task_names.DELIVER_WEBHOOK, delivery_id, settings.MAINTENANCE_QUEUE_NAME, task_id, countdown
    )


# --- sending -----------------------------------------------------------------------------------


def deliver(delivery_id: Any) -> Verdict:
    """One attempt, if it is due and nobody else holds it."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None or not delivery.claim(timezone.now(), CLAIM_SECONDS):
        return Verdict.SKIPPED
    return settle(delivery, attempt(delivery))


def attempt(delivery: WebhookDelivery) -> Attempt:
    key = ApiKey.objects.filter(batch__pk=delivery.batch_id).first()
    refusal = signing_refusal(key)
    if refusal or key is None:
        return Attempt(Verdict.FAILED, error=refusal)
    secret = key.webhook_secret
    try:
        check_target(delivery.url)
    except UnresolvableHost as exc:
        return Attempt(Verdict.RETRY, error=exc.detail)
    except InvalidWebhookUrl as exc:
        return Attempt(Verdict.FAILED, error=exc.detail)
    body = body_of(delivery)
    return post(delivery.url, body, headers_for(delivery, secret, body, int(time.time())))


def signing_refusal(key: ApiKey | None) -> str:
    """Why this key may not sign a delivery now ("" if it may); checked at every attempt, since
    a key can be revoked or deleted while its deliveries wait for a retry."""
    if key is None:
        return "The batch's API key was deleted."
    if not key.is_active:
        return "The batch's API key was revoked."
    if not key.webhook_secret:
        return "The batch's API key has no webhook secret."
    return ""


def headers_for(
    delivery: WebhookDelivery, secret: str, body: bytes, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Inspection-Event": delivery.event,
        "X-Inspection-Delivery": str(delivery.pk),
        "X-Inspection-Timestamp": str(timestamp),
        "X-Inspection-Signature": signature(secret, timestamp, body),
    }


def post(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
    """POST without following redirects, without proxies from the environment, with short
    timeouts; the answer's body is never read."""
    timeout = (settings.WEBHOOK_CONNECT_TIMEOUT, settings.WEBHOOK_READ_TIMEOUT)
    with requests.Session() as session:
        session.trust_env = False
        try:
            response = session.post(
                url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
            )
        except requests.RequestException as exc:
            return Attempt(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}")
        response.close()
    return judge(response.status_code)


def judge(status_code: int) -> Attempt:
    if 200 <= status_code < 300:
        return Attempt(Verdict.DELIVERED, status_code)
    if status_code == 429 or status_code >= 500:
        return Attempt(Verdict.RETRY, status_code, f"HTTP {status_code}")
    note = " (redirects are not followed)" if 300 <= status_code < 400 else ""
    return Attempt(Verdict.FAILED, status_code, f"HTTP {status_code}{note}")


def settle(delivery: WebhookDelivery, outcome: Attempt) -> Verdict:
    """Record the attempt; schedule the next one, or end the delivery."""
    verdict = outcome.verdict
    if verdict is Verdict.RETRY and delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        verdict = Verdict.FAILED
    now = timezone.now()
    fields = {
        "last_status_code": outcome.status_code,
        "last_error": outcome.error[:500],
        **_ending(verdict, delivery.attempts, now),
    }
    with transaction.atomic():
        if delivery.record(now, fields) and verdict is Verdict.RETRY:
            publish(delivery, countdown=backoff_seconds(delivery.attempts))
    _log(delivery, verdict, outcome)
    return verdict


def _ending(verdict: Verdict, attempts: int, now: datetime) -> dict[str, object]:
    if verdict is Verdict.DELIVERED:
        return {"status": Status.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    if verdict is Verdict.RETRY:
        return {"next_attempt_at": now + timedelta(seconds=backoff_seconds(attempts))}
    return {"status": Status.FAILED, "next_attempt_at": None}


def backoff_seconds(attempts: int) -> int:
    """Wait after the `attempts`-th attempt failed: doubling from WEBHOOK_BACKOFF_SECONDS."""
    wait = settings.WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return int(min(wait, settings.WEBHOOK_MAX_BACKOFF_SECONDS))


def _log(delivery: WebhookDelivery, verdict: Verdict, outcome: Attempt) -> None:
    logger.info(
        "webhook %s: attempt %d %s %s [batch_id=%s delivery_id=%s]",
        verdict,
        delivery.attempts,
        outcome.status_code or "-",
        outcome.error[:200],
        delivery.batch_id,
        delivery.pk,
        extra={"batch_id": str(delivery.batch_id)},
    )


# --- re-publishing and re-queueing -------------------------------------------------------------


def republish_due(now: datetime | None = None) -> int:
    """Re-publish pending deliveries overdue by more than a sweep interval (their message was
    lost, or their worker died mid-attempt and the claim ran out)."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.WEBHOOK_SWEEP_INTERVAL_SECONDS)
    due = WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=overdue)
    deliveries = list(due.order_by("next_attempt_at")[:REPUBLISH_LIMIT])
    for delivery in deliveries:
        publish(delivery)
    if deliveries:
        logger.info("webhooks: re-published %d overdue deliveries", len(deliveries))
    return len(deliveries)


@dataclass(frozen=True)
class Redelivery:
    requeued: int  # failed, now pending with a fresh set of attempts
    republished: int  # still pending: its message sent again
    skipped: int  # delivered: never sent again


def redeliver(deliveries: QuerySet[WebhookDelivery]) -> Redelivery:
    now, requeued, republished, skipped = timezone.now(), 0, 0, 0
    with transaction.atomic():
        for delivery in deliveries:
            if delivery.status == Status.FAILED and delivery.requeue(now):
                requeued += 1
            elif delivery.status == Status.PENDING:
                republished += 1
            else:
                skipped += 1
                continue
            publish(delivery)
    return Redelivery(requeued, republished, skipped)


def deliveries_of_batch(batch_id: Any) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(batch_id=batch_id)


def failed_deliveries() -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(status=Status.FAILED)


def event_delivery(batch: Batch, event: str) -> WebhookDelivery | None:
    """The batch's latest delivery of `event` (uses prefetched `webhook_deliveries`)."""
    return next((d for d in batch.webhook_deliveries.all() if d.event == event), None)
