"""Oversized requests. gunicorn, as the project configures it (`observability/gunicorn_conf`),
refuses a header over 8190 bytes or more than 100 headers (431) and a request line over 4094
bytes (414) before Django sees them, and answers in our JSON error shape; anything under those
limits reaches Django, where the API answers a huge key like any wrong key."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from inspection.models import Facility
from tests.api_support import BATCHES_URL
from tests.conftest import make_api_key
from tests.web_server import running_web
from tests.workers import worker_env

pytestmark = pytest.mark.slow

BIG = 64 * 1024  # a runaway cookie or a pasted file


@pytest.fixture
def web(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    env = worker_env(tmp_path / "media", tmp_path / "var")
    with running_web(env, tmp_path / "web.log") as url:
        yield url


def get(base_url: str, path: str, headers: list[tuple[str, str]]) -> tuple[int, str, Any]:
    """A GET with exactly these headers (repeats allowed); status, content type, JSON body."""
    address = urlsplit(base_url)
    conn = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        conn.putrequest("GET", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type", ""), json.loads(answer.read())
    finally:
        conn.close()


@pytest.mark.parametrize(
    "headers",
    [
        [("Cookie", "session=" + "x" * BIG)],
        [("Authorization", "Api-Key " + "k" * BIG)],
        [("X-Padding", "p" * 8191)],
        [(f"X-Extra-{n}", "1") for n in range(101)],
    ],
    ids=["64 KB cookie", "64 KB key", "one byte over", "101 headers"],
)
def test_gunicorn_refuses_oversized_headers_with_a_json_431(
    web: str, headers: list[tuple[str, str]]
) -> None:
    status, content_type, body = get(web, "/api/v1/batches/", headers)
    assert (status, content_type) == (431, "application/json")
    assert body["code"] == "request_header_fields_too_large"
    assert body["detail"]


def test_gunicorn_refuses_an_oversized_request_line_with_a_json_414(web: str) -> None:
    status, content_type, body = get(web, "/api/v1/batches/?facility=" + "f" * 5000, [])
    assert (status, content_type, body["code"]) == (414, "application/json", "uri_too_long")


def test_headers_under_the_limits_reach_django(web: str, facility: Facility) -> None:
    key = make_api_key(facility)
    cookie = ("Cookie", "session=" + "x" * 8000)
    status, _, body = get(web, "/api/v1/batches/", [("Authorization", f"Api-Key {key}"), cookie])
    assert (status, body["count"]) == (200, 0)
    status, content_type, body = get(web, "/api/v1/batches/", [("X-Api-Key", "k" * 8000)])
    assert (status, content_type, body["code"]) == (401, "application/json", "invalid_api_key")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["HTTP_AUTHORIZATION", "HTTP_X_API_KEY", "HTTP_COOKIE"],
)
def test_django_answers_a_huge_header_in_our_shape(header: str) -> None:
    """Behind a proxy with larger limits (or none), our code still answers JSON."""
    value = ("Api-Key " if header == "HTTP_AUTHORIZATION" else "") + "h" * BIG
    extra: dict[str, Any] = {header: value}  # a header, passed as the client's extra WSGI keys
    response = APIClient().get(BATCHES_URL, **extra)
    assert response.status_code == 401
    assert set(response.json()) == {"code", "detail"}
