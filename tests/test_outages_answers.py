"""A database outage is answered honestly: 503 with Retry-After, JSON for the API (and for
clients that ask for JSON), a short page for people, never Django's HTML 500; and connections
are health-checked, so the first request after a database restart does not fail on a dead one."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def database_down(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def test_the_api_answers_a_json_503_with_retry_after(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inspection.selectors.batches_for", database_down)
    response = api_client.get("/api/v1/batches/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "database_unavailable"
    assert int(response["Retry-After"]) > 0


def test_an_authentication_that_meets_the_outage_is_a_503_too(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inspection.api.auth._verified_key", database_down)
    response = api_client.get("/api/v1/batches/")
    assert (response.status_code, response.json()["code"]) == (503, "database_unavailable")


def test_a_page_answers_503_with_retry_after(
    reviewer_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inspection.ui.views.queue_page", database_down)
    response = reviewer_client.get("/review/")
    assert response.status_code == 503
    assert "Unavailable" in response.content.decode() and response["Retry-After"]


def test_connections_are_health_checked(db: None) -> None:
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
