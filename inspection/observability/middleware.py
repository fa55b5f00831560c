"""Request latency and status for every response, labelled by URL pattern (not raw path, so
ids in URLs do not explode the series count)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from inspection.observability import metrics


def view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.record_request(
            request.method or "",
            view_label(request),
            response.status_code,
            time.perf_counter() - started,
        )
        return response
