"""REST API v1: the caller's facilities, and their thresholds. Setting thresholds writes a new,
audited policy version (the previous one is kept) through the same service as
`manage.py set_thresholds` and the admin; the version records the key that wrote it."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection import selectors
from inspection.api import serializers as s
from inspection.api.auth import caller_facilities, caller_key
from inspection.api.pagination import Pagination
from inspection.api.schema import error
from inspection.api.views import INVALID_QUERY, NO_SUCH_PAGE, Documented, valid_input
from inspection.models import ApiKey, Facility
from inspection.services.facilities import NoActiveModel
from inspection.services.policies import ThresholdChange, save_policy_version

SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH)
NOT_FOUND = error("`not_found`: no such facility among the key's facilities.")
NO_MODEL = error(
    "`no_active_model`: the facility has no model (`fix` names the command that gives it one)."
)


def _facility(request: Request, slug: str) -> Facility:
    return selectors.facility_for(caller_facilities(request), slug)


def _current(facility: Facility) -> selectors.CurrentThresholds:
    current = selectors.current_thresholds(facility)
    if current is None:
        raise NoActiveModel(facility)
    return current


class FacilityListView(Documented, GenericAPIView):
    pagination_class = Pagination
    serializer_class = s.FacilityOutput

    @extend_schema(
        operation_id="facilities_list",
        responses={200: s.FacilityOutput(many=True), 400: INVALID_QUERY, 404: NO_SUCH_PAGE},
    )
    def get(self, request: Request) -> Response:
        """The facilities this key may submit to, with each one's model and thresholds."""
        facilities = Facility.objects.filter(pk__in=caller_facilities(request))
        page = self.paginate_queryset(facilities.select_related("active_model").order_by("slug"))
        return self.get_paginated_response(s.FacilityOutput(page, many=True).data)


class ThresholdsView(Documented, APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="thresholds_retrieve",
        parameters=[SLUG],
        responses={200: s.CurrentThresholdsOutput, 404: NOT_FOUND, 409: NO_MODEL},
    )
    def get(self, request: Request, slug: str) -> Response:
        """The thresholds that route the facility's images now, and where they came from."""
        current = _current(_facility(request, slug))
        return Response(s.CurrentThresholdsOutput(current).data)

    @extend_schema(
        operation_id="thresholds_update",
        parameters=[SLUG],
        request=s.ThresholdsInput,
        responses={
            201: s.CurrentThresholdsOutput,
            400: error(
                "`invalid`: a field is malformed or unknown, no threshold is given, or "
                "`review_all` comes with thresholds (see `errors`)."
            ),
            404: NOT_FOUND,
            409: error(
                "`invalid_thresholds`: a class the active model does not have, or one of its "
                "classes left without a threshold (give it one, or a `default`); "
                "`no_active_model`: the facility has no model (`fix` names the command)."
            ),
            415: error("`unsupported_media_type`: the body is not JSON."),
        },
    )
    def put(self, request: Request, slug: str) -> Response:
        """Set the thresholds of the facility's active model (or none: `review_all`) as a new
        policy version, which the next images are routed by; the previous versions are kept."""
        body = valid_input(s.ThresholdsInput, request.data)
        change = ThresholdChange.of(
            body["classes"],
            body.get("default"),
            body["review_all"],
            min_confidence=body.get("min_confidence"),
            note=body["note"],
        )
        return self._save(request, slug, change, status.HTTP_201_CREATED)

    def _save(self, request: Request, slug: str, change: ThresholdChange, code: int) -> Response:
        facility = _facility(request, slug)
        model = _current(facility).model
        save_policy_version(facility, model, change, created_by=author_of(caller_key(request)))
        return Response(s.CurrentThresholdsOutput(_current(facility)).data, status=code)


class PolicyVersionsView(Documented, GenericAPIView):
    pagination_class = Pagination
    serializer_class = s.PolicyVersionOutput

    @extend_schema(
        operation_id="thresholds_versions_list",
        parameters=[SLUG],
        responses={
            200: s.PolicyVersionOutput(many=True),
            400: INVALID_QUERY,
            404: error("`not_found`: no such facility, or the page is past the last one."),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        """Every version of the facility's thresholds, newest first: who set what, and when."""
        facility = _facility(request, slug)
        page = self.paginate_queryset(selectors.policy_versions(facility))
        return self.get_paginated_response(s.PolicyVersionOutput(page, many=True).data)


def author_of(key: ApiKey) -> str:
    """How an audit row names a key: its name and prefix."""
    return f"api key {key.name} ({key.prefix})"
