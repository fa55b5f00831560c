"""API-key authentication. A key is `<prefix>.<secret>`: the prefix finds the row, the hash of
the whole key is compared in constant time, and revoked keys are refused. The caller's
facilities (`caller_facilities`) scope every query the API makes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from inspection.models import ApiKey, Facility

if TYPE_CHECKING:
    # Not at run time: DRF imports this module while rest_framework.views is loading.
    from rest_framework.views import APIView

KEYWORD = "Api-Key"
INVALID_API_KEY = "invalid_api_key"
# Writing last_used_at on every request would turn each read into a write; a minute is enough
# to see which keys are alive.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Compared against when the prefix matches no key, so a miss costs what a hit costs.
_NO_KEY_HASH = ApiKey.hash_key("no-such-key")


@dataclass(frozen=True)
class Integrator:
    """`request.user` for a request made with an API key (`request.auth` is the key)."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>`, or `X-Api-Key: <key>`."""

    def authenticate(self, request: Request) -> tuple[Integrator, ApiKey] | None:
        raw = _raw_key(request)
        if raw is None:
            return None
        key = _verified_key(raw)
        _record_use(key)
        return Integrator(key), key

    def authenticate_header(self, request: Request) -> str:
        # Its presence makes DRF answer 401 rather than 403 to unauthenticated requests.
        return f'{KEYWORD} realm="api"'


class HasApiKey(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, ApiKey)


def caller_facilities(request: Request) -> QuerySet[Facility]:
    """The facilities the calling key is scoped to, as a lazy queryset (a subquery)."""
    return caller_key(request).facilities.all()


def caller_key(request: Request) -> ApiKey:
    """The API key of a request made with one (HasApiKey lets no other through)."""
    assert isinstance(request.auth, ApiKey)
    return request.auth


def _raw_key(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    parts = header.split()
    if parts and parts[0].lower() == KEYWORD.lower():
        if len(parts) != 2:
            raise AuthenticationFailed(f"Use 'Authorization: {KEYWORD} <key>'.", INVALID_API_KEY)
        return parts[1]
    if parts:
        # A bare key, or another scheme (Bearer): say what this API expects, not "no key".
        raise AuthenticationFailed(
            f"Use 'Authorization: {KEYWORD} <key>' (the word {KEYWORD}, a space, then the key).",
            INVALID_API_KEY,
        )
    return request.META.get("HTTP_X_API_KEY", "").strip() or None


def _verified_key(raw: str) -> ApiKey:
    prefix, _, _ = raw.partition(".")
    key = ApiKey.objects.filter(prefix=prefix[: ApiKey.PREFIX_LENGTH]).first()
    expected = key.key_hash if key is not None else _NO_KEY_HASH
    if not hmac.compare_digest(ApiKey.hash_key(raw), expected) or key is None:
        raise AuthenticationFailed("Invalid API key.", INVALID_API_KEY)
    if not key.is_active:
        raise AuthenticationFailed("This API key has been revoked.", INVALID_API_KEY)
    return key


def _record_use(key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
