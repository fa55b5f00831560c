"""REST API v1: dead letters. The failed images of the key's facilities with their reasons
(`failed-images/`), how many failed for each reason (`failed-images/reasons/`), and replays of
one image, one batch or every failed image of a reason (`failed-images/replay/`), optionally
against another registered model version, idempotent with an Idempotency-Key and audited
(inspection.dead_letters)."""

from __future__ import annotations

import re
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.api import serializers as s
from inspection.api.auth import caller_facilities, caller_key
from inspection.api.pagination import Pagination
from inspection.api.schema import error
from inspection.api.serializers import StrictCharField
from inspection.api.views import INVALID_QUERY, NO_SUCH_PAGE, Documented, query_dict, valid_input
from inspection.dead_letters.replays import (
    REASON_PATTERN,
    Caller,
    ReplayScope,
    model_named,
    request_replay,
)
from inspection.dead_letters.selectors import FailedFilter, counts_by_reason, failed_images

SLUG_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")
REPLAY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description=(
        "Repeating a replay with the same key (per API key) returns the first request (200) "
        "and replays nothing; the same key for a different replay answers 409."
    ),
)


class FailedFilterInput(serializers.Serializer):
    facility = serializers.SlugField(required=False, help_text="Only this facility (a slug).")
    reason = serializers.RegexField(
        REASON_PATTERN, required=False, help_text="Only this failure reason."
    )
    batch = serializers.UUIDField(required=False, help_text="Only this batch.")
    since = serializers.DateTimeField(required=False, help_text="Failed at or after this time.")


class FailedImageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    batch = serializers.UUIDField(source="batch_id")
    facility = serializers.CharField(source="facility.slug")
    camera = serializers.CharField(source="batch.camera")
    original_name = serializers.CharField()
    reason = serializers.CharField(help_text="Failure reason code, e.g. `inference_error`.")
    detail = serializers.CharField(source="reason_detail", help_text="The error stored with it.")
    attempts = serializers.IntegerField(help_text="Attempts of the stage it failed at.")
    failed_at = serializers.DateTimeField(source="finished_at", allow_null=True)
    model_version = serializers.CharField(
        allow_null=True, help_text="`name:version` it was processed with; null: none yet."
    )


class ReasonCountOutput(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.IntegerField()


class ReasonCountsOutput(serializers.Serializer):
    total = serializers.IntegerField(help_text="Failed images matching the filters.")
    reasons = ReasonCountOutput(many=True, help_text="Most first.")


class StrictUUIDField(serializers.UUIDField):
    """A UUID in a JSON string (DRF would also take a number)."""

    def to_internal_value(self, data: object) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class ReplayInput(serializers.Serializer):
    """One image; or a batch (optionally only a `reason`); or a `reason` (optionally only at a
    `facility`); each optionally with a `model_version`. Unknown fields are refused. The schema
    is written out in `ReplayInputSchema`."""

    image = StrictUUIDField(required=False)
    batch = StrictUUIDField(required=False)
    reason = StrictCharField(required=False, validators=[RegexValidator(REASON_PATTERN)])
    facility = StrictCharField(required=False, validators=[RegexValidator(SLUG_PATTERN)])
    model_version = StrictCharField(required=False, max_length=151)

    def validate(self, data: dict[str, object]) -> dict[str, object]:
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}
        unknown = sorted(set(sent) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(f"Unknown field(s): {', '.join(unknown)}.")
        return data


class ReplayInputSchema(OpenApiSerializerExtension):
    """Three closed object shapes, one per scope (a serializer cannot say this)."""

    target_class = "inspection.api.dead_letters.ReplayInput"

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> Any:
        model = {
            "model_version": {
                "type": "string",
                "minLength": 1,
                "maxLength": 151,
                "description": "`name:version` of a registered model to replay against instead "
                "of the facility's active model (for these images only).",
            }
        }
        uuid = {"type": "string", "format": "uuid"}
        reason = {"type": "string", "pattern": REASON_PATTERN.pattern}
        slug = {"type": "string", "pattern": SLUG_PATTERN.pattern}
        shapes = [
            ("One image.", {"image": uuid}, ["image"]),
            (
                "A batch's failed images (only of `reason` when given).",
                {"batch": uuid, "reason": reason},
                ["batch"],
            ),
            (
                "Every failed image of a reason (only at `facility` when given).",
                {"reason": reason, "facility": slug},
                ["reason"],
            ),
        ]
        return {
            "oneOf": [
                {
                    "type": "object",
                    "description": text,
                    "properties": {**fields, **model},
                    "required": required,
                    "additionalProperties": False,
                }
                for text, fields, required in shapes
            ]
        }


class ReplayOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="The replay request (its audit row).")
    scope = serializers.CharField(help_text="`image`, `batch` or `reason`.")
    image = serializers.UUIDField(source="image_id", allow_null=True)
    batch = serializers.UUIDField(source="batch_id", allow_null=True)
    reason = serializers.CharField()
    facility = serializers.CharField(source="facility.slug", allow_null=True)
    model_version = serializers.CharField(
        allow_null=True, help_text="`name:version`; null: each facility's active model."
    )
    replayed = serializers.IntegerField(help_text="Images queued again.")
    skipped = serializers.ListField(
        source="skipped_ids",
        child=serializers.UUIDField(),
        help_text="Images named but left alone: not failed any more, or refused at upload "
        "(nothing stored to replay).",
    )
    requested_at = serializers.DateTimeField()
    requested_by = serializers.CharField(source="author")


def _failed(request: Request) -> Any:
    where = FailedFilter(**valid_input(FailedFilterInput, query_dict(request)))
    return failed_images(caller_facilities(request), where)


class FailedImageListView(Documented, GenericAPIView):
    pagination_class = Pagination
    serializer_class = FailedImageOutput

    @extend_schema(
        operation_id="failed_images_list",
        parameters=[FailedFilterInput],
        responses={200: FailedImageOutput(many=True), 400: INVALID_QUERY, 404: NO_SUCH_PAGE},
    )
    def get(self, request: Request) -> Response:
        """The failed images of the key's facilities, newest failure first."""
        page = self.paginate_queryset(_failed(request))
        return self.get_paginated_response(FailedImageOutput(page, many=True).data)


class FailedReasonsView(Documented, APIView):
    @extend_schema(
        operation_id="failed_images_reasons",
        parameters=[FailedFilterInput],
        responses={200: ReasonCountsOutput, 400: INVALID_QUERY},
    )
    def get(self, request: Request) -> Response:
        """How many of the key's failed images failed for each reason."""
        counts = counts_by_reason(_failed(request))
        body = {"total": sum(c.count for c in counts), "reasons": counts}
        return Response(ReasonCountsOutput(body).data)


class ReplayView(Documented, APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="failed_images_replay",
        request=ReplayInput,
        parameters=[REPLAY_KEY],
        responses={
            202: ReplayOutput,
            200: OpenApiResponse(ReplayOutput, description="Idempotent repeat: the first one."),
            400: error(
                "`invalid`: a field or header is malformed or unknown (see `errors`); "
                "`invalid_replay`: not one image, one batch or a reason, or fields that do not "
                "go together."
            ),
            404: error(
                "`not_found`: no such image, batch or facility among the key's; "
                "`unknown_model_version`: no such registered model version."
            ),
            409: error("`idempotency_key_reused`: the key came with a different replay."),
            415: error("`unsupported_media_type`: the body is not JSON."),
        },
    )
    def post(self, request: Request) -> Response:
        """Send failed images through the pipeline again: one image, a batch's failed images,
        or every failed image of a reason. Images not failed any more are skipped."""
        body = valid_input(ReplayInput, request.data)
        headers = {"idempotency_key": request.headers.get("Idempotency-Key", "")}
        key = valid_input(s.IdempotencyKeyInput, headers)["idempotency_key"].strip()
        model = model_named(body.pop("model_version")) if "model_version" in body else None
        outcome = request_replay(
            caller_facilities(request),
            ReplayScope(**body),
            Caller.of_api_key(caller_key(request)),
            model,
            key or None,
        )
        answer = status.HTTP_202_ACCEPTED if outcome.created else status.HTTP_200_OK
        return Response(ReplayOutput(outcome.request).data, status=answer)
