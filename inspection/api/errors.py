"""The one place errors become HTTP answers: DRF's own exceptions and our domain errors all
answer `{"code": ..., "detail": ...}` (plus `errors` for invalid input, `fix` for a facility
without a model)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from inspection import outages
from inspection.dead_letters.replays import ReplayKeyReused, UnknownModelVersion
from inspection.learning.drift_alerts import AlertAlreadyAcknowledged
from inspection.services import DomainError
from inspection.services.facilities import NoActiveModel
from inspection.services.policies import InvalidThresholds
from inspection.services.shadow import ShadowRefused
from inspection.services.submission import (
    IdempotencyKeyReused,
    Limit,
    LimitsExceeded,
    Overloaded,
)
from inspection.storage import StorageUnavailable

LIMIT_STATUS = {
    Limit.NO_FILES: status.HTTP_400_BAD_REQUEST,
    Limit.TOO_MANY_FILES: status.HTTP_400_BAD_REQUEST,
    Limit.BATCH_TOO_LARGE: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
}


class ApiError(exceptions.APIException):
    """An error with our code, extra body fields and headers."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: str,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, code)
        self.status_code = status_code
        self.extra = extra or {}
        self.headers = headers or {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    api_exc = as_api_exception(exc)
    if api_exc is None:
        return None  # not ours: a 500 through Django's handler
    response = drf_exception_handler(api_exc, context)
    if response is None:
        return None
    response.data = error_body(api_exc)
    for name, value in getattr(api_exc, "headers", {}).items():
        response[name] = value
    return response


def as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        # One fixed message: a foreign id and a missing id must read the same.
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DomainError):
        return from_domain_error(exc)
    if isinstance(exc, outages.DATABASE_ERRORS):
        retry = {"Retry-After": str(outages.RETRY_AFTER_SECONDS)}
        return ApiError(
            status.HTTP_503_SERVICE_UNAVAILABLE, outages.CODE, outages.DETAIL, None, retry
        )
    if isinstance(exc, StorageUnavailable):
        retry = {"Retry-After": str(outages.RETRY_AFTER_SECONDS)}
        unavailable = status.HTTP_503_SERVICE_UNAVAILABLE
        return ApiError(
            unavailable, StorageUnavailable.code, StorageUnavailable.detail, None, retry
        )
    return _from_request_limit(exc)


def from_domain_error(exc: DomainError) -> ApiError:
    if isinstance(exc, LimitsExceeded):
        return ApiError(LIMIT_STATUS[exc.limit], exc.code, exc.detail)
    if isinstance(exc, NoActiveModel):
        return ApiError(status.HTTP_409_CONFLICT, exc.code, exc.detail, {"fix": exc.fix})
    if isinstance(exc, InvalidThresholds):
        # Well-formed thresholds that do not fit the facility's model (its classes).
        return ApiError(status.HTTP_409_CONFLICT, exc.code, exc.detail)
    if isinstance(exc, Overloaded):
        headers = {"Retry-After": str(exc.retry_after)}
        return ApiError(status.HTTP_503_SERVICE_UNAVAILABLE, exc.code, exc.detail, None, headers)
    if isinstance(exc, UnknownModelVersion):
        return ApiError(status.HTTP_404_NOT_FOUND, exc.code, exc.detail)
    if isinstance(exc, AlertAlreadyAcknowledged):
        return ApiError(status.HTTP_409_CONFLICT, exc.code, exc.detail)
    if isinstance(exc, ShadowRefused):
        # The facility's models are not in a state the change applies to (no shadow, ...).
        return ApiError(status.HTTP_409_CONFLICT, exc.code, exc.detail)
    if isinstance(exc, IdempotencyKeyReused | ReplayKeyReused):
        return ApiError(status.HTTP_409_CONFLICT, exc.code, exc.detail)
    return ApiError(status.HTTP_400_BAD_REQUEST, exc.code, exc.detail)


def _from_request_limit(exc: Exception) -> ApiError | None:
    """Django refuses oversized multipart bodies while parsing, before our checks run."""
    if isinstance(exc, TooManyFilesSent):
        detail = "Too many files in one request."
        return ApiError(status.HTTP_400_BAD_REQUEST, LimitsExceeded.code, detail)
    if isinstance(exc, RequestDataTooBig):
        detail = "The form fields of the request are too large."
        code, too_large = LimitsExceeded.code, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        return ApiError(too_large, code, detail)
    return None


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return {"code": "invalid", "detail": _first_message(exc.detail), "errors": exc.detail}
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    return {"code": code, "detail": str(exc.detail), **getattr(exc, "extra", {})}


def _first_message(detail: Any, path: str = "") -> str:
    """A one-line summary of a validation error, e.g. "status: Select a valid choice.\""""
    if isinstance(detail, dict) and detail:
        field, inner = next(iter(detail.items()))
        label = field if field != "non_field_errors" else ""
        return _first_message(inner, f"{path}.{label}" if path and label else path or label)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], path)
    return f"{path}: {detail}" if path else str(detail)
