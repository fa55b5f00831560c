"""Answering honestly while the database is away: 503 with Retry-After, JSON for the API and
for clients that ask for JSON, a short page for people; never Django's HTML 500. The API's own
exception handler answers the same way (inspection/api/errors.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 10
CODE = "database_unavailable"
DETAIL = "The database is not answering; nothing was changed. Retry shortly."


def unavailable(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"code": CODE, "detail": DETAIL}, status=503)
    else:
        response = HttpResponse(f"<h1>Unavailable</h1><p>{DETAIL}</p>", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """A view (or what it reads lazily: the session, the user) that meets a database outage."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable(request) if isinstance(exception, DATABASE_ERRORS) else None
