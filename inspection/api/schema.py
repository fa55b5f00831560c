"""OpenAPI additions: the API-key security scheme, and how errors are documented. Imported by
`inspection.api.urls` so the scheme is registered before a schema is generated.

Conventions (the schema is checked against the live API by tests/test_api_contract.py):
- Every view of the API sets `schema = ApiAutoSchema()` (through `views.Documented`): each
  operation that takes a key then documents its 401 without saying so.
- Every other error status an operation can answer is listed in its `@extend_schema(responses=
  {...})` as `error("when")`: the body is `ErrorOutput` (`code`, `detail`, plus `errors` or
  `rejected` where they apply).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiResponse

from inspection.api.serializers import ErrorOutput

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


def error(description: str) -> OpenApiResponse:
    """An error answer in our shape; `description` says which codes come with it, and when."""
    return OpenApiResponse(ErrorOutput, description=description)


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the 401 of every operation that needs a key (DRF answers
    it before the view runs, so no view would think to list it)."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is not None and self.view.get_authenticators():
            unauthorized = self._get_response_for_code(error(UNAUTHORIZED), "401")
            operation["responses"].setdefault("401", unauthorized)
        return operation
