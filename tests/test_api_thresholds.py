"""Facilities and thresholds over REST: a key sees its facilities with their model and
thresholds; it sets per-class thresholds (or one for all, or everything to review) as a new,
audited policy version; nothing outside its facilities is visible or changeable."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from inspection.models import ApiKey, Facility, ThresholdPolicy
from tests.conftest import make_api_key

pytestmark = pytest.mark.django_db

FACILITIES = "/api/v1/facilities/"


def thresholds_url(slug: str = "dc-north") -> str:
    return f"{FACILITIES}{slug}/thresholds/"


def put(client: APIClient, body: dict[str, Any], slug: str = "dc-north") -> Any:
    return client.put(thresholds_url(slug), body, format="json")


def test_a_key_lists_its_facilities_with_model_and_calibrated_thresholds(
    api_client: APIClient, facility: Facility, other_facility: Facility
) -> None:
    rows = api_client.get(FACILITIES).json()["results"]
    assert [row["slug"] for row in rows] == ["dc-north"]
    (row,) = rows
    assert row["model_version"] == str(facility.active_model)
    thresholds = row["thresholds"]
    assert (thresholds["source"], thresholds["calibrated"], thresholds["version"]) == (
        "calibrated",
        True,
        None,
    )
    assert thresholds["created_by"] == "model registration"
    assert set(thresholds["classes"]) == {"parcel", "label", "damage"}
    assert thresholds["model_classes"] == ["parcel", "label", "damage"]


def test_setting_thresholds_writes_audited_versions(
    api_client: APIClient, facility: Facility, api_key: str
) -> None:
    first = put(api_client, {"default": 0.3, "classes": {"damage": 0.5}, "note": "trial"})
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["source"], body["calibrated"], body["version"]) == ("manual", False, 1)
    assert (body["default"], body["classes"], body["note"]) == (0.3, {"damage": 0.5}, "trial")
    prefix = api_key.split(".", 1)[0]
    assert body["created_by"] == f"api key integrator ({prefix})"
    assert put(api_client, {"review_all": True}).json()["version"] == 2
    current = api_client.get(thresholds_url()).json()
    assert (current["source"], current["review_all"], current["version"]) == (
        "review_all",
        True,
        2,
    )
    versions = api_client.get(f"{thresholds_url()}versions/").json()["results"]
    assert [(v["version"], v["is_active"], v["source"]) for v in versions] == [
        (2, True, "review_all"),
        (1, False, "manual"),
    ]
    assert versions[1]["classes"] == {"damage": 0.5}


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        # Well-formed, but not for this facility's model: a conflict with its classes.
        ({"classes": {"dent": 0.5}, "default": 0.4}, 409, "invalid_thresholds", "dent"),
        ({"classes": {"damage": 0.5}}, 409, "invalid_thresholds", "No threshold for 2 class"),
        # Malformed whatever the model.
        ({}, 400, "invalid", "Give `classes`"),
        ({"classes": {}}, 400, "invalid", "Give `classes`"),
        ({"review_all": True, "default": 0.5}, 400, "invalid", "comes alone"),
        ({"review_all": False}, 400, "invalid", "comes alone"),
        ({"default": 0.5, "colour": "red"}, 400, "invalid", "Unknown field(s): colour"),
        ({"default": 1.5}, 400, "invalid", "default"),
        ({"classes": {"damage": "0.5"}, "default": 0.1}, 400, "invalid", "classes"),
        ({"default": 0.5, "note": 7}, 400, "invalid", "note"),
    ],
)
def test_bad_thresholds_are_refused_and_store_nothing(
    api_client: APIClient,
    facility: Facility,
    body: dict[str, Any],
    status: int,
    code: str,
    words: str,
) -> None:
    response = put(api_client, body)
    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert words in response.json()["detail"]
    assert not ThresholdPolicy.objects.exists()


def test_another_facility_is_not_found(
    api_client: APIClient, facility: Facility, other_facility: Facility
) -> None:
    assert api_client.get(thresholds_url("dc-south")).status_code == 404
    assert put(api_client, {"default": 0.5}, "dc-south").status_code == 404
    assert api_client.get(f"{thresholds_url('dc-south')}versions/").status_code == 404
    assert not ThresholdPolicy.objects.exists()


def test_a_facility_without_a_model_answers_409_with_the_fix(bare_facility: Facility) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_api_key(bare_facility)}")
    for response in (
        client.get(thresholds_url("dc-bare")),
        put(client, {"default": 0.5}, "dc-bare"),
    ):
        assert response.status_code == 409
        assert response.json()["fix"] == "manage.py activate_model --facility dc-bare --default"
    assert client.get(FACILITIES).json()["results"][0]["thresholds"] is None


def test_a_revoked_key_cannot_set_thresholds(
    api_client: APIClient, facility: Facility, api_key: str
) -> None:
    ApiKey.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert put(api_client, {"default": 0.5}).status_code == 401


def test_a_min_confidence_above_the_thresholds_is_a_conflict(
    api_client: APIClient, facility: Facility
) -> None:
    response = put(api_client, {"default": 0.3, "min_confidence": 0.5})
    assert (response.status_code, response.json()["code"]) == (409, "invalid_thresholds")
    assert "min_confidence 0.5 is above" in response.json()["detail"]


def test_review_all_shows_no_stale_numbers(api_client: APIClient, facility: Facility) -> None:
    put(api_client, {"default": 0.35})
    body = put(api_client, {"review_all": True}).json()
    assert (body["source"], body["default"], body["classes"]) == ("review_all", None, {})
    versions = api_client.get(f"{thresholds_url()}versions/").json()["results"]
    assert [(v["source"], v["default"]) for v in versions] == [
        ("review_all", None),
        ("uniform", 0.35),
    ]
