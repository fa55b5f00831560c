"""REST API v1: a facility's drift alerts (inspection.learning.drift_alerts), and acknowledging
one. The acknowledgement is audited on the alert (`acknowledged_by` names the key); after it the
alerted class is no longer routed to review."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection import selectors
from inspection.api.auth import caller_facilities, caller_key
from inspection.api.facilities import SLUG, author_of
from inspection.api.pagination import Pagination
from inspection.api.schema import error
from inspection.api.views import INVALID_QUERY, Documented, query_dict, valid_input
from inspection.learning.drift_alerts import acknowledge, alerts_for
from inspection.models import DriftAlert, Facility

ALERT_ID = OpenApiParameter("alert_id", OpenApiTypes.INT, OpenApiParameter.PATH)
# An id that is not a number is not found, in our shape (a path converter would answer Django's).
NOT_FOUND = error("`not_found`: no such facility among the key's facilities, or no such alert.")


class DriftAlertOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version", help_text="`name:version`.")
    camera = serializers.CharField(allow_null=True, help_text="null: all cameras together.")
    statistic = serializers.FloatField(
        help_text="PSI (kind `drift`) or the 95 % lower bound of the precision (`precision`)."
    )
    cutoff = serializers.FloatField(help_text="PSI above it, or a bound below it, fires.")
    open = serializers.BooleanField(source="is_open")

    class Meta:
        model = DriftAlert
        fields = [
            "id", "model", "class_name", "camera", "kind", "statistic", "cutoff", "detail",
            "opened_at", "last_seen_at", "open", "acknowledged_by", "acknowledged_at",
        ]  # fmt: skip


class AlertsInput(serializers.Serializer):
    state = serializers.ChoiceField(["open", "all"], default="open")


class DriftAlertListView(Documented, GenericAPIView):
    pagination_class = Pagination
    serializer_class = DriftAlertOutput

    @extend_schema(
        operation_id="drift_alerts_list",
        parameters=[SLUG, AlertsInput],
        responses={200: DriftAlertOutput(many=True), 400: INVALID_QUERY, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        """The facility's drift and precision alerts, newest first (open ones unless `all`)."""
        wanted = valid_input(AlertsInput, query_dict(request))
        alerts = _alerts(request, slug)
        if wanted["state"] == "open":
            alerts = alerts.filter(acknowledged_at__isnull=True)
        page = self.paginate_queryset(alerts)
        return self.get_paginated_response(DriftAlertOutput(page, many=True).data)


class AcknowledgeView(Documented, APIView):
    @extend_schema(
        operation_id="drift_alerts_acknowledge",
        parameters=[SLUG, ALERT_ID],
        request=None,
        responses={
            200: DriftAlertOutput,
            404: NOT_FOUND,
            409: error("`already_acknowledged`: someone acknowledged it first."),
        },
    )
    def post(self, request: Request, slug: str, alert_id: str) -> Response:
        """Acknowledge an alert: its class is no longer routed to review; recorded with the key."""
        if not alert_id.isdigit():
            raise Http404("Alert not found.")
        alert = get_object_or_404(_alerts(request, slug), pk=int(alert_id))
        done = acknowledge(alert, author_of(caller_key(request)))
        return Response(DriftAlertOutput(done).data)


def _alerts(request: Request, slug: str) -> QuerySet[DriftAlert]:
    """The alerts of one of the key's facilities (404 for any other)."""
    facility = selectors.facility_for(caller_facilities(request), slug)
    return alerts_for(Facility.objects.filter(pk=facility.pk))
