"""Liveness, readiness and the web's /metrics. No login: probes and Prometheus call them; they
reveal no tenant data (counts by facility slug at most)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from inspection.observability import exporter, health
from inspection.observability.collectors import StateCollector


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving; nothing else is asked (a restart would not help)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    # ?check=database,broker runs a subset (e.g. a web pod's own readiness, which must not
    # depend on the inference workers that autoscaling may have scaled down).
    only = [name for name in request.GET.get("check", "").split(",") if name]
    if unknown := health.unknown_checks(only):
        # A typo must not read as "not ready" (a probe would restart a healthy pod forever).
        return JsonResponse(_unknown_check_body(unknown), status=400)
    results = health.run_checks(only)
    ready = all(result.ok for result in results)
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": {result.name: result.as_json() for result in results},
    }
    return JsonResponse(body, status=200 if ready else 503)


def _unknown_check_body(unknown: list[str]) -> dict[str, object]:
    known = list(health.CHECKS)
    detail = f"No such check: {', '.join(unknown)}. Known checks: {', '.join(known)}."
    return {"code": "unknown_check", "detail": detail, "checks": known}


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    registry = exporter.build_registry(extra=[StateCollector()])
    return HttpResponse(exporter.render(registry), content_type=CONTENT_TYPE_LATEST)
