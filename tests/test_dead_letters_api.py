"""REST API for dead letters: the key's failed images with their reasons and counts, and
replays (one image, a batch, a reason; optionally another model version), scoped to the key's
facilities, idempotent with an Idempotency-Key, audited."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from inspection.inference import registry
from inspection.models import Facility, Image, ReplayRequest
from tests.dead_letter_support import completed_batch, crash_and_dark, failed_image, hours_ago
from tests.workers import reload

pytestmark = pytest.mark.django_db
Status = Image.Status
LIST_URL = "/api/v1/failed-images/"
REASONS_URL = "/api/v1/failed-images/reasons/"
REPLAY_URL = "/api/v1/failed-images/replay/"


@pytest.fixture
def mine(facility: Facility, media_root: Path) -> dict[str, Image]:
    return crash_and_dark(facility)


@pytest.fixture
def theirs(other_facility: Facility, media_root: Path) -> Image:
    return failed_image(completed_batch(other_facility), "inference_error", "foreign")


def replay(client: APIClient, key: str = "", **body: Any) -> Any:
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(REPLAY_URL, body, format="json", **headers)


def test_the_list_shows_the_keys_failed_images_with_their_reasons(
    api_client: APIClient, mine: dict[str, Image], theirs: Image, facility: Facility
) -> None:
    response = api_client.get(LIST_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    dark = body["results"][0]
    assert {k: v for k, v in dark.items() if k != "failed_at"} == {
        "id": str(mine["dark"].pk),
        "batch": str(mine["dark"].batch_id),
        "facility": "dc-north",
        "camera": "dock-7",
        "original_name": mine["dark"].original_name,
        "reason": "too_dark",
        "detail": "mean 4",
        "attempts": 3,
        "model_version": str(facility.active_model),
    }
    assert body["results"][1]["model_version"] is None


def test_the_list_filters_and_refuses_a_bad_filter(
    api_client: APIClient, mine: dict[str, Image]
) -> None:
    by_reason = api_client.get(LIST_URL, {"reason": "inference_error"}).json()
    assert [row["id"] for row in by_reason["results"]] == [str(mine["crash"].pk)]
    since = api_client.get(LIST_URL, {"since": hours_ago(1.5).isoformat()}).json()
    assert [row["id"] for row in since["results"]] == [str(mine["dark"].pk)]
    assert api_client.get(LIST_URL, {"facility": "dc-south"}).json()["count"] == 0
    bad = api_client.get(LIST_URL, {"batch": "not-a-uuid"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid")
    assert "batch" in bad.json()["detail"]


def test_counts_per_reason(api_client: APIClient, mine: dict[str, Image], theirs: Image) -> None:
    body = api_client.get(REASONS_URL).json()
    assert body == {
        "total": 2,
        "reasons": [{"reason": "inference_error", "count": 1}, {"reason": "too_dark", "count": 1}],
    }


def test_replaying_an_image_answers_202_with_the_audited_request(
    api_client: APIClient, mine: dict[str, Image], published: Any
) -> None:
    response = replay(api_client, image=str(mine["crash"].pk))
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["scope"], body["image"], body["replayed"], body["skipped"]) == (
        "image",
        str(mine["crash"].pk),
        1,
        [],
    )
    assert body["requested_by"].startswith("api key integrator (")
    assert reload(mine["crash"]).status == Status.QUEUED
    row = ReplayRequest.objects.get(pk=body["id"])
    assert row.api_key is not None and row.requested_by is None


def test_an_image_not_failed_any_more_is_skipped_and_reported(
    api_client: APIClient, mine: dict[str, Image], published: Any
) -> None:
    replay(api_client, image=str(mine["crash"].pk))
    again = replay(api_client, image=str(mine["crash"].pk))
    assert again.status_code == 202
    assert (again.json()["replayed"], again.json()["skipped"]) == (0, [str(mine["crash"].pk)])


def test_replaying_a_batch_and_a_reason(
    api_client: APIClient, mine: dict[str, Image], theirs: Image, published: Any
) -> None:
    by_batch = replay(api_client, batch=str(mine["crash"].batch_id), reason="too_dark")
    assert (by_batch.status_code, by_batch.json()["replayed"]) == (202, 1)
    assert reload(mine["dark"]).status == Status.QUEUED
    by_reason = replay(api_client, reason="inference_error", facility="dc-north")
    assert (by_reason.json()["replayed"], by_reason.json()["facility"]) == (1, "dc-north")
    assert reload(mine["crash"]).status == Status.QUEUED
    assert reload(theirs).status == Status.FAILED


@pytest.mark.parametrize("what", ["image", "batch", "facility"])
def test_another_facilitys_failures_are_404_like_missing_ones(
    api_client: APIClient, theirs: Image, mine: dict[str, Image], what: str
) -> None:
    foreign = {
        "image": {"image": str(theirs.pk)},
        "batch": {"batch": str(theirs.batch_id)},
        "facility": {"reason": "inference_error", "facility": "dc-south"},
    }[what]
    missing = {k: (str(uuid.uuid4()) if k != "reason" else v) for k, v in foreign.items()}
    if what == "facility":
        missing = {"reason": "inference_error", "facility": "no-such-dc"}
    answers = [replay(api_client, **body) for body in (foreign, missing)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json() == answers[1].json() == {"code": "not_found", "detail": "Not found."}
    assert reload(theirs).status == Status.FAILED
    assert not ReplayRequest.objects.exists()


def test_the_same_key_twice_replays_once_and_answers_200_with_the_first_request(
    api_client: APIClient,
    mine: dict[str, Image],
    django_capture_on_commit_callbacks: Any,
    published: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = replay(api_client, "retry-1", reason="inference_error")
    Image.objects.filter(pk=mine["crash"].pk).update(status=Status.FAILED)  # failed again
    sent = len(published.calls)
    with django_capture_on_commit_callbacks(execute=True):
        second = replay(api_client, "retry-1", reason="inference_error")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == first.json()
    assert (sent, len(published.calls)) == (1, 1)  # one preprocess message, never again
    assert ReplayRequest.objects.count() == 1
    reused = replay(api_client, "retry-1", reason="too_dark")
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")


@pytest.mark.slow
def test_a_replay_against_another_model_version(
    api_client: APIClient, mine: dict[str, Image], dev_model_file: Path, published: Any
) -> None:
    registry.register_model(dev_model_file, "dev", "candidate", input_size=256)
    response = replay(api_client, image=str(mine["crash"].pk), model_version="dev:candidate")
    assert (response.status_code, response.json()["model_version"]) == (202, "dev:candidate")
    assert str(reload(mine["crash"]).replay_model) == "dev:candidate"


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        ({}, "invalid_replay", "Name one image, one batch, or a reason."),
        ({"image": "x"}, "invalid", "image: Must be a valid UUID."),
        ({"reason": "Too Dark"}, "invalid", "reason:"),
        ({"batch": str(uuid.uuid4()), "facility": "dc-north"}, "invalid_replay", "A batch"),
        ({"image": 5}, "invalid", "image:"),
        ({"reason": "too_dark", "camera": "x"}, "invalid", "Unknown field(s): camera."),
    ],
)
def test_a_bad_replay_is_refused_with_what_is_wrong(
    api_client: APIClient, mine: dict[str, Image], body: dict[str, str], code: str, says: str
) -> None:
    response = replay(api_client, **body)
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert says in response.json()["detail"]
    assert reload(mine["crash"]).status == Status.FAILED


def test_an_unknown_model_version_is_404(api_client: APIClient, mine: dict[str, Image]) -> None:
    response = replay(api_client, reason="too_dark", model_version="dev:nope")
    assert (response.status_code, response.json()["code"]) == (404, "unknown_model_version")
    assert "'dev:nope'" in response.json()["detail"]
    assert reload(mine["dark"]).status == Status.FAILED


def test_the_endpoints_are_in_the_openapi_schema(api_client: APIClient) -> None:
    schema = api_client.get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {"get"} <= set(paths["/api/v1/failed-images/"])
    assert {"get"} <= set(paths["/api/v1/failed-images/reasons/"])
    replay_op = paths["/api/v1/failed-images/replay/"]["post"]
    assert {"200", "202", "400", "404", "409"} <= set(replay_op["responses"])
