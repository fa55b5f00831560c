"""Issuing integrator API keys: the one place a key is generated, scoped and stored."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from inspection.models import ApiKey, Facility


def issue_api_key(
    name: str, facilities: Sequence[Facility], webhook_url: str = ""
) -> tuple[ApiKey, str]:
    """A new key for these facilities; returns the row and the raw key (shown once, never
    stored). `webhook_url` must already be validated."""
    with transaction.atomic():
        key, raw = ApiKey.generate(name)
        key.webhook_url = webhook_url
        key.save()
        key.facilities.set(facilities)
    return key, raw
