"""gunicorn's own error answers in our JSON shape. gunicorn refuses some requests before Django
sees them (a header over `limit_request_field_size`: 431; more headers than
`limit_request_fields`: 431; a request line over `limit_request_line`: 414; a malformed request:
400) and answers them with an HTML page; `install()` makes those answers
`{"code": ..., "detail": ...}` like every other error of the service.

gunicorn has no setting for this: `install()` replaces its `util.write_error`, which every worker
class calls for these answers (gunicorn's version is pinned; tests/test_web_limits.py checks it).
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn import util

MAX_DETAIL = 300
CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "request_header_fields_too_large",
    500: "server_error",
    501: "not_implemented",
}


def install() -> None:
    util.write_error = write_json_error


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """What `gunicorn.util.write_error` writes, with a JSON body."""
    detail = f"{reason}: {mesg}" if mesg else reason
    body = json.dumps({"code": CODES.get(status_int, "bad_request"), "detail": detail[:MAX_DETAIL]})
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body.encode())}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin1") + body.encode())
