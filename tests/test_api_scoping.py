"""Every query is scoped to the key's facilities: a foreign batch is a 404 exactly like a missing
one, lists show only the caller's batches, and a foreign facility cannot be submitted to."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inspection.models import Batch, Facility
from tests.api_support import BATCHES_URL, make_batch, submit, upload
from tests.conftest import make_api_key

BATCH_PATHS = ["", "images/", "results.json", "results.csv"]


def ids(response_json: dict[str, object]) -> list[str]:
    return [row["id"] for row in response_json["results"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize("suffix", BATCH_PATHS)
def test_a_foreign_batch_answers_exactly_like_a_missing_one(
    outsider_client: APIClient, facility: Facility, suffix: str
) -> None:
    batch = make_batch(facility, ["queued"])
    foreign = outsider_client.get(f"{BATCHES_URL}{batch.pk}/{suffix}")
    missing = outsider_client.get(f"{BATCHES_URL}{uuid.uuid4()}/{suffix}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.parametrize("suffix", BATCH_PATHS)
def test_the_owner_can_read_its_batch(
    api_client: APIClient, facility: Facility, suffix: str
) -> None:
    batch = make_batch(facility, ["queued"])
    assert api_client.get(f"{BATCHES_URL}{batch.pk}/{suffix}").status_code == 200


def test_a_malformed_batch_id_is_a_json_404(api_client: APIClient) -> None:
    response = api_client.get(f"{BATCHES_URL}not-a-uuid/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_list_shows_only_the_callers_batches(
    api_client: APIClient, facility: Facility, other_facility: Facility
) -> None:
    own = make_batch(facility, ["queued"])
    make_batch(other_facility, ["queued"])
    assert ids(api_client.get(BATCHES_URL).json()) == [str(own.pk)]


def test_a_key_for_two_facilities_sees_both(facility: Facility, other_facility: Facility) -> None:
    make_batch(facility, ["queued"])
    make_batch(other_facility, ["queued"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_api_key(facility, other_facility)}")
    assert client.get(BATCHES_URL).json()["count"] == 2


@pytest.mark.parametrize("slug", ["dc-south", "no-such-dc"])
def test_submitting_to_a_facility_outside_the_key_is_404(
    api_client: APIClient,
    other_facility: Facility,
    media_root: object,
    slug: str,  # noqa: F811
) -> None:
    response = submit(api_client, [upload()], facility=slug)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not Batch.objects.exists()


# --- list filters and order -------------------------------------------------------------------


def test_the_list_is_newest_first(api_client: APIClient, facility: Facility) -> None:
    old = make_batch(facility, [], created_at=timezone.now() - timedelta(days=1))
    new = make_batch(facility, [])
    assert ids(api_client.get(BATCHES_URL).json()) == [str(new.pk), str(old.pk)]


def test_the_list_filters_by_facility_and_status(
    facility: Facility, other_facility: Facility
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_api_key(facility, other_facility)}")
    done = make_batch(facility, ["accepted"], status=Batch.Status.COMPLETED)
    make_batch(facility, ["queued"])
    make_batch(other_facility, ["accepted"], status=Batch.Status.COMPLETED)
    response = client.get(BATCHES_URL, {"facility": "dc-north", "status": "completed"})
    assert ids(response.json()) == [str(done.pk)]


def test_filtering_by_a_foreign_facility_shows_nothing(
    api_client: APIClient, other_facility: Facility
) -> None:
    make_batch(other_facility, ["queued"])
    assert api_client.get(BATCHES_URL, {"facility": "dc-south"}).json()["count"] == 0


def test_the_list_filters_by_creation_time(api_client: APIClient, facility: Facility) -> None:
    now = timezone.now()
    make_batch(facility, [], created_at=now - timedelta(days=3))
    middle = make_batch(facility, [], created_at=now - timedelta(days=2))
    make_batch(facility, [], created_at=now - timedelta(days=1))
    window = {
        "created_after": (now - timedelta(days=2, hours=1)).isoformat(),
        "created_before": (now - timedelta(days=1, hours=1)).isoformat(),
    }
    assert ids(api_client.get(BATCHES_URL, window).json()) == [str(middle.pk)]


@pytest.mark.parametrize("query", [{"status": "done"}, {"created_after": "yesterday"}])
def test_invalid_list_filters_are_400(
    api_client: APIClient, facility: Facility, query: dict[str, str]
) -> None:
    response = api_client.get(BATCHES_URL, query)
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_the_list_is_paginated(api_client: APIClient, facility: Facility) -> None:
    for _ in range(3):
        make_batch(facility, [])
    page = api_client.get(BATCHES_URL, {"page_size": 2}).json()
    assert (page["count"], len(page["results"])) == (3, 2) and page["next"]
