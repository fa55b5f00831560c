"""REST API v1 endpoints: thin. Each validates its input with a serializer, calls one selector
or service scoped to the caller's facilities, and shapes the answer with an output serializer.
Errors are translated in `inspection.api.errors`."""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.schemas.inspectors import ViewInspector
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from inspection import selectors
from inspection.api import serializers as s
from inspection.api.auth import caller_facilities, caller_key
from inspection.api.exports import render_csv
from inspection.api.pagination import Pagination
from inspection.api.schema import ApiAutoSchema, error
from inspection.models import Batch
from inspection.services.submission import SubmissionRequest, submit_batch

BATCH_ID = OpenApiParameter("batch_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description=(
        "Repeating a submission with the same key (per facility) returns the first batch "
        "(200) and creates nothing; the same key with different content answers 409."
    ),
)
NOT_FOUND = error("`not_found`: no such batch among the key's facilities.")
INVALID_QUERY = error("`invalid`: a filter or paging parameter is malformed (see `errors`).")
NO_SUCH_PAGE = error("`not_found`: the page is past the last one.")


def _batch_for(request: Request, batch_id: str) -> Batch:
    return selectors.batch_for(caller_facilities(request), batch_id)


def query_dict(request: Request) -> dict[str, str]:
    """The query string as a plain dict: DRF reads a form-like QueryDict's blank value as "not
    sent", so `?status=` would list everything instead of being refused like any bad value."""
    return request.query_params.dict()


def valid_input(serializer_class: type[Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class Documented:
    # Mixed into every API view: documents the 401 of each operation (see `schema.py`). A
    # comment, not a docstring: the schema would show a docstring as every operation's text.
    schema: ViewInspector | None = ApiAutoSchema()


class BatchListCreateView(Documented, GenericAPIView):
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = Pagination
    serializer_class = s.BatchOutput

    @extend_schema(
        operation_id="batches_list",
        parameters=[s.BatchFilterInput],
        responses={200: s.BatchOutput(many=True), 400: INVALID_QUERY, 404: NO_SUCH_PAGE},
    )
    def get(self, request: Request) -> Response:
        filters = valid_input(s.BatchFilterInput, query_dict(request))
        batches = selectors.batches_for(caller_facilities(request))
        batches = batches.prefetch_related("webhook_deliveries")
        page = self.paginate_queryset(selectors.filter_batches(batches, **filters))
        data = s.BatchOutput(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(
        operation_id="batches_create",
        request={"multipart/form-data": s.BatchSubmitInput},
        parameters=[IDEMPOTENCY_KEY],
        responses={
            202: s.BatchSubmitOutput,
            200: OpenApiResponse(
                s.BatchSubmitOutput, description="Idempotent repeat: the first batch."
            ),
            400: error(
                "`invalid`: a form field or header is malformed (see `errors`); "
                "`limits_exceeded`: no files, or more than MAX_FILES_PER_BATCH; "
                "`invalid_webhook_url`: the URL is not http(s) or not a public host; "
                "`parse_error`: the multipart body is malformed."
            ),
            404: error("`not_found`: no such facility among the key's facilities."),
            409: error(
                "`idempotency_key_reused`: the key came with different content; "
                "`no_active_model`: the facility has no model, nothing was stored (`fix` "
                "names the command that gives it one)."
            ),
            413: error(
                "`limits_exceeded`: the request is over MAX_BATCH_BYTES (a single file over "
                "MAX_UPLOAD_BYTES is refused on its own: see `refused_files` in the 202)."
            ),
            415: error("`unsupported_media_type`: the body is not multipart/form-data."),
            503: error(
                "`overloaded`: too many images wait; `database_unavailable`: the database is "
                "not answering; `storage_unavailable`: the file storage is not answering. "
                "Retry after `Retry-After` seconds."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Store the files and answer 202 at once; processing happens in the pipeline."""
        body = valid_input(s.BatchSubmitInput, request.data)
        headers = {"idempotency_key": request.headers.get("Idempotency-Key", "")}
        key = valid_input(s.IdempotencyKeyInput, headers)["idempotency_key"].strip()
        facilities = caller_facilities(request)
        submission = submit_batch(
            SubmissionRequest(
                facility=selectors.facility_for(facilities, body["facility"]),
                files=body["images"],
                camera=body["camera"],
                idempotency_key=key or None,
                api_key=caller_key(request),
                webhook_url=body["webhook_url"].strip(),
            )
        )
        batch = selectors.batch_for(facilities, submission.batch.pk)
        batch.refused_uploads = selectors.refused_uploads(batch)
        answer = status.HTTP_202_ACCEPTED if submission.created else status.HTTP_200_OK
        data = s.BatchSubmitOutput(batch, context={"request": request}).data
        location = reverse("api:batch-detail", kwargs={"batch_id": batch.pk}, request=request)
        return Response(data, status=answer, headers={"Location": location})


class BatchDetailView(Documented, APIView):
    @extend_schema(parameters=[BATCH_ID], responses={200: s.BatchOutput, 404: NOT_FOUND})
    def get(self, request: Request, batch_id: str) -> Response:
        batch = _batch_for(request, batch_id)
        # Both webhook fields read the deliveries: one query for the two, as the list does.
        prefetch_related_objects([batch], "webhook_deliveries")
        return Response(s.BatchOutput(batch, context={"request": request}).data)


class BatchImagesView(Documented, GenericAPIView):
    pagination_class = Pagination
    serializer_class = s.ImageOutput

    @extend_schema(
        parameters=[BATCH_ID, s.ImageFilterInput],
        responses={
            200: s.ImageOutput(many=True),
            400: INVALID_QUERY,
            404: error("`not_found`: no such batch, or the page is past the last one."),
        },
    )
    def get(self, request: Request, batch_id: str) -> Response:
        filters = valid_input(s.ImageFilterInput, query_dict(request))
        batch = _batch_for(request, batch_id)
        page = self.paginate_queryset(selectors.images_of(batch, **filters))
        return self.get_paginated_response(s.ImageOutput(page, many=True).data)


class BatchResultsJsonView(Documented, APIView):
    @extend_schema(parameters=[BATCH_ID], responses={200: s.BatchResultsOutput, 404: NOT_FOUND})
    def get(self, request: Request, batch_id: str) -> Response:
        """Every detection of the batch (an image without one is a row of its own)."""
        batch = _batch_for(request, batch_id)
        results = {"batch": batch, "rows": list(selectors.result_rows(batch))}
        return Response(s.BatchResultsOutput(results, context={"request": request}).data)


class BatchResultsCsvView(Documented, APIView):
    @extend_schema(
        parameters=[BATCH_ID],
        responses={(200, "text/csv"): OpenApiTypes.STR, 404: NOT_FOUND},
    )
    def get(self, request: Request, batch_id: str) -> HttpResponse:
        """The same rows as results.json, one CSV line each, safe to open in a spreadsheet."""
        batch = _batch_for(request, batch_id)
        response = HttpResponse(
            render_csv(selectors.result_rows(batch)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-results.csv"'
        return response
