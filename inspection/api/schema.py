"""OpenAPI additions: the API-key security scheme, and how errors are documented. Imported by
`inspection.api.urls` so the scheme is registered before a schema is generated.

Conventions (the schema is checked against the live API by tests/test_api_contract.py):
- Every view of the API sets `schema = ApiAutoSchema()` (through `views.Documented`): each
  operation that takes a key then documents its 401, and the 503 of a database outage, without
  saying so.
- Every other error status an operation can answer is listed in its `@extend_schema(responses=
  {...})` as `error("when")`: the body is `ErrorOutput` (`code`, `detail`, plus `errors` or
  `fix` where they apply).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiResponse

from inspection.api.serializers import ErrorOutput

DATABASE_DOWN = "`database_unavailable`: the database is not answering; retry after `Retry-After`."
UNAUTHORIZED = (
    "`not_authenticated`: no key was sent; `invalid_api_key`: unknown, malformed or revoked."
)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "inspection.api.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Authorization: Api-Key <key>` (or the header `X-Api-Key: <key>`). "
                "Keys are created with `manage.py create_api_key` and scoped to facilities."
            ),
        }


class UploadsSchema(OpenApiSerializerFieldExtension):
    """The files of a submission: how many the service takes is a setting, read when the schema
    is generated (a serializer's max_length would be fixed at import, and answer `invalid`
    instead of the service's `limits_exceeded`)."""

    target_class = "inspection.api.serializers.UploadsField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Any:
        files = auto_schema._map_serializer_field(self.target.child, direction)
        return {
            "type": "array",
            "items": files,
            "minItems": 1,
            "maxItems": settings.MAX_FILES_PER_BATCH,
        }


def _number(description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": 1, "description": description}


class ThresholdsInputSchema(OpenApiSerializerExtension):
    """New thresholds are per class (`classes`, with a `default` for the classes left out), one
    `default` for every class, or `review_all: true` alone: one of two object shapes, each
    closed (a serializer cannot say this)."""

    target_class = "inspection.api.serializers.ThresholdsInput"

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> Any:
        common = {
            "min_confidence": _number("Boxes below are noise (default: as before)."),
            # No NUL characters: Django refuses them in text.
            "note": {"type": "string", "maxLength": 200, "pattern": "^[^\\x00]*$"},
        }
        per_class = {"type": "object", "additionalProperties": _number("A class's threshold.")}
        thresholds = {
            "type": "object",
            "description": "Per class (`classes`, with `default` for the others) or one "
            "`default` for every class.",
            "properties": {
                "classes": {**per_class, "description": 'Class -> threshold: {"damage": 0.6}.'},
                "default": _number("The threshold of every class not in `classes`."),
                **common,
            },
            "additionalProperties": False,
            "anyOf": [
                {"required": ["default"]},
                {"required": ["classes"], "properties": {"classes": {"minProperties": 1}}},
            ],
        }
        review_all = {
            "type": "object",
            "description": "No thresholds: every image goes to review.",
            "properties": {"review_all": {"type": "boolean", "enum": [True]}, **common},
            "required": ["review_all"],
            "additionalProperties": False,
        }
        return {"oneOf": [thresholds, review_all]}


def error(description: str) -> OpenApiResponse:
    """An error answer in our shape; `description` says which codes come with it, and when."""
    return OpenApiResponse(ErrorOutput, description=description)


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the 401 of every operation that needs a key (DRF answers
    it before the view runs, so no view would think to list it)."""

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        body: dict[str, Any] | None = super()._get_request_body(direction)
        if body is not None:
            # Every body this API takes is required (drf-spectacular only marks one when its
            # serializer has a required field; the thresholds' shape is written out instead).
            body["required"] = True
        return body

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is not None and self.view.get_authenticators():
            unauthorized = self._get_response_for_code(error(UNAUTHORIZED), "401")
            operation["responses"].setdefault("401", unauthorized)
            outage = self._get_response_for_code(error(DATABASE_DOWN), "503")
            operation["responses"].setdefault("503", outage)
        return operation
