"""Shared actors: two facilities, an integrator key for each, and API clients."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from inspection.models import ApiKey, Facility


def make_api_key(*facilities: Facility, name: str = "integrator") -> str:
    key, raw = ApiKey.generate(name)
    key.save()
    key.facilities.set(facilities)
    return raw


@pytest.fixture
def facility(db: None) -> Facility:
    return Facility.objects.create(slug="dc-north", name="North DC")


@pytest.fixture
def other_facility(db: None) -> Facility:
    return Facility.objects.create(slug="dc-south", name="South DC")


@pytest.fixture
def api_key(facility: Facility) -> str:
    return make_api_key(facility)


@pytest.fixture
def other_api_key(other_facility: Facility) -> str:
    return make_api_key(other_facility, name="outsider")


@pytest.fixture
def api_client(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    return client


@pytest.fixture
def outsider_client(other_api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_api_key}")
    return client
