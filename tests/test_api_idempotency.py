"""Idempotency-Key: a repeated submission returns the first batch and creates nothing; a key
reused for different content is refused; concurrent duplicates make one batch."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from inspection.models import Batch, Facility, Image
from inspection.services import submission
from tests import images
from tests.api_support import Published, submit, upload
from tests.conftest import make_api_key

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse  # the test client's answer

pytestmark = pytest.mark.usefixtures("media_root")

KEY = {"HTTP_IDEMPOTENCY_KEY": "order-42"}


def photos(*seeds: int) -> list[Any]:
    return [upload(f"{seed}.jpg", images.photo_jpeg(64, 48, seed=seed)) for seed in seeds]


def test_a_repeat_answers_200_with_the_same_batch(api_client: APIClient) -> None:
    first = submit(api_client, photos(1, 2), **KEY)
    again = submit(api_client, photos(1, 2), **KEY)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]


def test_a_repeat_creates_no_rows_and_publishes_nothing(
    api_client: APIClient,
    published: Published,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    submit(api_client, photos(1, 2), **KEY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submit(api_client, photos(1, 2), **KEY)
    assert (Batch.objects.count(), Image.objects.count()) == (1, 2)
    assert callbacks == [] and published.calls == []


def test_a_repeat_shows_the_current_progress(api_client: APIClient) -> None:
    submit(api_client, photos(1), **KEY)
    Image.objects.update(status=Image.Status.ACCEPTED)
    assert submit(api_client, photos(1), **KEY).json()["counts"]["accepted"] == 1


@pytest.mark.parametrize(
    "change",
    [{"files": (1, 3)}, {"files": (2, 1)}, {"camera": "dock-9"}],
    ids=["other_file", "other_order", "other_camera"],
)
def test_the_same_key_for_different_content_is_409(
    api_client: APIClient, change: dict[str, Any]
) -> None:
    submit(api_client, photos(1, 2), **KEY)
    files = photos(*change.get("files", (1, 2)))
    response = submit(api_client, files, camera=change.get("camera", ""), **KEY)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Batch.objects.count() == 1


def test_keys_are_per_facility(facility: Facility, other_facility: Facility) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_api_key(facility, other_facility)}")
    north = submit(client, photos(1), facility="dc-north", **KEY)
    south = submit(client, photos(1), facility="dc-south", **KEY)
    assert (north.status_code, south.status_code) == (202, 202)
    assert north.json()["id"] != south.json()["id"]


def test_without_a_key_every_submission_is_a_new_batch(api_client: APIClient) -> None:
    submit(api_client, photos(1))
    submit(api_client, photos(1))
    assert Batch.objects.count() == 2


def test_a_lost_race_answers_with_the_winner(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = submit(api_client, photos(1), **KEY).json()
    # As if the winner committed between our lookup and our insert: the first lookup misses.
    real_lookup = submission._earlier_batch
    lookups: list[object] = []

    def racing_lookup(request: submission.SubmissionRequest) -> Batch | None:
        lookups.append(request)
        return None if len(lookups) == 1 else real_lookup(request)

    monkeypatch.setattr(submission, "_earlier_batch", racing_lookup)
    response = submit(api_client, photos(1), **KEY)
    assert (response.status_code, response.json()["id"]) == (200, winner["id"])
    assert Image.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_make_one_batch(
    facility: Facility,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    published: Published,  # noqa: F811
) -> None:
    # Both requests have looked for an earlier batch before either inserts one.
    # The barrier sits on the early capacity check (after the lookup, before the files are
    # stored); the second check runs under the admission lock, where one request waits for the
    # other's commit, so it must not wait at the barrier as well.
    both_looked = threading.Barrier(2, timeout=10)
    passed = threading.local()
    real_check = submission.check_capacity

    def check_once_together(incoming: int) -> None:
        if not getattr(passed, "barrier", False):
            passed.barrier = True
            both_looked.wait()
        real_check(incoming)

    monkeypatch.setattr(submission, "check_capacity", check_once_together)
    answers: list[_MonkeyPatchedResponse] = []

    def post() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
        try:
            answers.append(submit(client, photos(1, 2), **KEY))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [200, 202]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert (Batch.objects.count(), Image.objects.count()) == (1, 2)
