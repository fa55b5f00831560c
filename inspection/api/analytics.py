"""REST API v1: the numbers behind each chart of the analytics page, one GET per chart under
`/api/v1/analytics/`, as JSON or (`format=csv`) CSV. An integrator's key sees its facilities;
the page itself calls the same endpoints with the signed-in user's session (their facility
memberships). Every query goes through `analytics_scope`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection import selectors
from inspection.analytics import export
from inspection.analytics.charts import CHARTS, Chart
from inspection.analytics.scope import Scope
from inspection.analytics.series import TimeSeries
from inspection.analytics.window import Window
from inspection.api import analytics_io as io
from inspection.api.auth import ApiKeyAuthentication, caller_facilities
from inspection.api.schema import error
from inspection.api.views import INVALID_QUERY, Documented, query_dict, valid_input
from inspection.models import ApiKey, Facility
from inspection.review.access import facilities_of

NOT_FOUND = error("`not_found`: no such facility among yours.")


class KeyOrSignedIn(BasePermission):
    """An API key, or a signed-in user of the web UI (the analytics page)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey):
            return True
        return bool(request.user is not None and request.user.is_authenticated)


class JsonAnswers(BaseContentNegotiation):
    """Always JSON (errors too); the CSV is chosen by the `format` parameter, which the view
    validates like any other (DRF would read `format` itself and answer 404 to a value it has
    no renderer for)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))  # the view's renderers: never none
        return first, first.media_type


def visible_facilities(request: Request) -> Any:
    if isinstance(request.auth, ApiKey):
        return caller_facilities(request)
    return facilities_of(request.user)


def analytics_scope(request: Request, params: dict[str, Any]) -> Scope:
    """The caller's facilities (or the one asked for: 404 when not theirs), camera and window."""
    visible = visible_facilities(request)
    if params.get("facility"):
        chosen = selectors.facility_for(visible, params["facility"])
        facilities = Facility.objects.filter(pk=chosen.pk)
    else:
        facilities = Facility.objects.filter(pk__in=visible)
    until = params.get("until")
    return Scope(
        list(facilities.select_related("active_model").order_by("slug")),
        Window.of(params["period"], until or timezone.now()),
        params.get("camera"),
        ends_now=until is None,
    )


class ChartView(Documented, APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [KeyOrSignedIn]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonAnswers
    chart: Chart

    def answer(self, request: Request) -> Response | HttpResponse:
        params = valid_input(io.AnalyticsInput, query_dict(request))
        result = self.chart.compute(analytics_scope(request, params))
        if params["format"] == "csv":
            response = HttpResponse(export.render(result), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{export.file_name(result)}"'
            return response
        output = io.TimeSeriesOutput if isinstance(result, TimeSeries) else io.DistributionsOutput
        return Response(output(result).data)


def chart_view(chart: Chart) -> type[ChartView]:
    """The endpoint of one chart, documented with its own operation and answer."""
    output = io.DistributionsOutput if chart.name == "confidence" else io.TimeSeriesOutput
    schema = extend_schema(
        operation_id=f"analytics_{chart.name}",
        summary=chart.summary,
        description=chart.details,
        parameters=[io.AnalyticsInput],
        responses={
            (200, "application/json"): output,
            (200, "text/csv"): OpenApiTypes.STR,
            400: INVALID_QUERY,
            404: NOT_FOUND,
        },
        tags=["analytics"],
    )

    def get(self: ChartView, request: Request) -> Response | HttpResponse:
        return self.answer(request)

    name = f"{chart.name.title().replace('_', '')}View"
    return type(name, (ChartView,), {"chart": chart, "get": schema(get)})


VIEWS = {chart.path: chart_view(chart) for chart in CHARTS}
