"""Revoking integrator API keys. A revoked key is refused by the API (401) and its batches'
webhooks are no longer sent, pending retries included (`webhooks.delivery.signing_refusal`)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from inspection.models import ApiKey


def keys_by_prefix(prefix: str) -> QuerySet[ApiKey]:
    """The key whose prefix this is; a whole key (`<prefix>.<secret>`) names its prefix too."""
    return ApiKey.objects.filter(prefix=prefix.strip().split(".", 1)[0])


def keys_by_name(name: str) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(name=name)


def revoke(key: ApiKey, at: datetime | None = None) -> bool:
    """Revoke the key unless it already is (a conditional UPDATE: a second run, or one racing
    the admin's action, changes nothing); True if this call revoked it. `key.revoked_at` is the
    moment it was revoked either way."""
    changed = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=at or timezone.now()
    )
    key.refresh_from_db(fields=["revoked_at"])
    return changed == 1
