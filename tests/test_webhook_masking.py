"""Credentials in a webhook URL (https://user:secret@host/hook) are used to deliver and never
shown: not in API answers, admin pages, delivery errors or logs."""

from __future__ import annotations

import base64
import socket
from typing import Any

import pytest
from rest_framework.test import APIClient

from inspection.models import ApiKey, Facility
from inspection.webhooks import delivery as service
from inspection.webhooks.delivery import Verdict
from inspection.webhooks.masking import masked_url
from tests.webhook_receiver import Receiver
from tests.webhook_support import Sent, completed_delivery, key_with_webhook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]

SECRET = "s3cret-pass"


def with_credentials(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://hooks-user:{SECRET}@{rest}"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:secret@host/hook", "https://***@host/hook"),
        ("https://user@host:8443/hook?x=1", "https://***@host:8443/hook?x=1"),
        ("HTTP://u:p@host", "HTTP://***@host"),
        ("https://host/path@not-userinfo", "https://host/path@not-userinfo"),
        ("https://host/hook?to=a@b#c@d", "https://host/hook?to=a@b#c@d"),
        ("https://host/hook", "https://host/hook"),
        ("", ""),
    ],
)
def test_masked_url_hides_only_the_userinfo(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_the_batch_detail_shows_the_url_masked(
    facility: Facility, hook: Receiver, sent: Sent
) -> None:
    key = key_with_webhook(facility, with_credentials(hook.url))
    delivery = completed_delivery(key, facility)
    client = APIClient()
    key_raw = _raw_key_for(key)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key_raw}")
    answer = client.get(f"/api/v1/batches/{delivery.batch_id}/")
    assert answer.json()["webhook"]["url"] == masked_url(with_credentials(hook.url))
    assert SECRET not in answer.content.decode()
    listing = client.get("/api/v1/batches/")
    assert SECRET not in listing.content.decode()


def test_delivery_still_uses_the_credentials(
    facility: Facility, hook: Receiver, sent: Sent
) -> None:
    delivery = completed_delivery(key_with_webhook(facility, with_credentials(hook.url)), facility)
    assert service.deliver(delivery.pk) is Verdict.DELIVERED
    [received] = hook.requests
    expected = base64.b64encode(f"hooks-user:{SECRET}".encode()).decode()
    assert received.headers["Authorization"] == f"Basic {expected}"


def test_a_failed_attempt_records_and_logs_no_credentials(
    facility: Facility, sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    delivery = completed_delivery(
        key_with_webhook(facility, with_credentials(closed_port_url())), facility
    )
    with caplog.at_level("INFO"):
        assert service.deliver(delivery.pk) is Verdict.RETRY
    delivery.refresh_from_db()
    assert delivery.last_error  # the connection error is recorded...
    assert SECRET not in delivery.last_error  # ...without the password
    assert SECRET not in caplog.text


def test_the_admin_lists_and_pages_show_the_url_masked(
    admin_client: Any, facility: Facility, hook: Receiver, sent: Sent
) -> None:
    url = with_credentials(hook.url)
    delivery = completed_delivery(key_with_webhook(facility, url), facility, webhook_url=url)
    pages = [
        "/admin/inspection/webhookdelivery/",
        f"/admin/inspection/webhookdelivery/{delivery.pk}/change/",
        f"/admin/inspection/batch/{delivery.batch_id}/change/",
    ]
    for page in pages:
        html = admin_client.get(page).content.decode()
        assert "***@127.0.0.1" in html, page
        assert SECRET not in html, page


def _raw_key_for(key: ApiKey) -> str:
    """A fresh raw key for an existing row (the original is shown once and not stored)."""
    fresh, raw = ApiKey.generate(key.name)
    ApiKey.objects.filter(pk=key.pk).update(prefix=fresh.prefix, key_hash=fresh.key_hash)
    return raw
