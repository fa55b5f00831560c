"""Registering a webhook: which URLs are accepted (http(s) only; no private targets unless
allowed), per batch at submission and per API key with `create_api_key --webhook-url`."""

from __future__ import annotations

import socket
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from inspection.models import ApiKey, Batch, Facility, WebhookDelivery
from inspection.webhooks.targets import InvalidWebhookUrl, validate_webhook_url
from tests.api_support import Published, submit, upload
from tests.webhook_support import key_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def guarded(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False


@pytest.fixture
def unguarded(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Hostnames resolve from this table; an unknown name does not resolve."""
    table: dict[str, str] = {}

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


# --- which URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://hooks.example.com/",
        "hooks.example.com/no-scheme",
        "http://",
        "not a url",
    ],
)
def test_only_http_and_https_urls_are_accepted(unguarded: None, url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        validate_webhook_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_the_ssrf_guard_refuses_private_loopback_and_link_local_targets(
    guarded: None, url: str
) -> None:
    with pytest.raises(InvalidWebhookUrl, match="non-public"):
        validate_webhook_url(url)


def test_the_ssrf_guard_checks_what_a_hostname_resolves_to(
    guarded: None, fake_dns: dict[str, str]
) -> None:
    fake_dns.update({"hooks.example.com": "93.184.216.34", "intranet.example.com": "10.0.0.7"})
    assert validate_webhook_url("https://hooks.example.com/in") == "https://hooks.example.com/in"
    with pytest.raises(InvalidWebhookUrl, match="non-public"):
        validate_webhook_url("https://intranet.example.com/in")
    with pytest.raises(InvalidWebhookUrl, match="does not resolve"):
        validate_webhook_url("https://nowhere.example.com/in")


def test_public_addresses_pass_the_guard(guarded: None) -> None:
    assert validate_webhook_url("https://93.184.216.34:8443/hook?x=1")


def test_private_targets_are_accepted_when_the_setting_allows_them(unguarded: None) -> None:
    assert validate_webhook_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"
    assert validate_webhook_url("http://localhost/hook")


# --- per batch, at submission -----------------------------------------------------------------


def test_a_batch_can_register_its_own_webhook(
    api_client: APIClient, media_root: Path, published: Published, unguarded: None
) -> None:
    response = submit(api_client, [upload()], webhook_url="http://127.0.0.1:9999/hook")
    assert response.status_code == 202, response.json()
    assert Batch.objects.get().webhook_url == "http://127.0.0.1:9999/hook"
    assert response.json()["webhook"] is None  # no delivery before the batch completes


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "http://127.0.0.1/hook"])
def test_an_invalid_webhook_url_is_a_400_and_stores_nothing(
    api_client: APIClient, media_root: Path, published: Published, guarded: None, url: str
) -> None:
    response = submit(api_client, [upload()], webhook_url=url)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook_url"
    assert not Batch.objects.exists()
    assert published.calls == []


def test_a_key_without_a_signing_secret_cannot_register_a_webhook(
    api_client: APIClient, api_key: str, media_root: Path, published: Published, unguarded: None
) -> None:
    ApiKey.objects.filter(pk=key_row(api_key).pk).update(webhook_secret="")
    response = submit(api_client, [upload()], webhook_url="http://127.0.0.1:9999/hook")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook_url"


# --- per key, with create_api_key ---------------------------------------------------------------


def create_key(*args: str) -> list[str]:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_create_api_key_registers_a_webhook_and_prints_its_secret_once(
    facility: Facility, unguarded: None
) -> None:
    lines = create_key(
        "--name", "x", "--facility", facility.slug, "--webhook-url", "http://127.0.0.1/h"
    )
    key = key_row(lines[-1])  # the raw key is still the last line
    assert key.webhook_url == "http://127.0.0.1/h"
    assert key.webhook_secret.startswith("whsec_")
    assert sum(key.webhook_secret in line for line in lines) == 1


def test_create_api_key_refuses_an_invalid_webhook_url(facility: Facility, guarded: None) -> None:
    with pytest.raises(CommandError, match="non-public"):
        create_key("--name", "x", "--facility", facility.slug, "--webhook-url", "http://10.0.0.1/")
    assert not ApiKey.objects.exists()


def test_every_new_key_can_sign_webhooks(facility: Facility) -> None:
    key = key_row(create_key("--name", "x", "--facility", facility.slug)[-1])
    assert key.webhook_url == ""
    assert key.webhook_secret.startswith("whsec_")


def test_the_admin_never_shows_the_signing_secret(admin_client: Any, api_key: str) -> None:
    page = admin_client.get(f"/admin/inspection/apikey/{key_row(api_key).pk}/change/")
    assert page.status_code == 200
    assert key_row(api_key).webhook_secret not in page.content.decode()


def test_create_api_key_never_prints_webhook_credentials(
    facility: Facility, unguarded: None
) -> None:
    url = "http://hook:s3cret@127.0.0.1/h"
    lines = create_key("--name", "x", "--facility", facility.slug, "--webhook-url", url)
    assert key_row(lines[-1]).webhook_url == url  # delivery still has them
    assert not any("s3cret" in line for line in lines)
    assert "Webhook URL: http://***@127.0.0.1/h" in lines
    delivery = WebhookDelivery(batch_id=uuid.uuid4(), event="batch.completed", url=url)
    assert "s3cret" not in str(delivery)
