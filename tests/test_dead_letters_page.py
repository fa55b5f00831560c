"""The failed images page: a facility admin sees the failed images of the facilities they
administer with reason, detail, attempts, camera and model, counts per reason, filters and
pages; the replay buttons send one image, its batch, or a reason through the pipeline again,
once per page request key, recorded with the admin's name. Reviewers see nothing; another
facility's failures are neither listed nor replayable (404)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from inspection.inference import registry
from inspection.models import Facility, Image, ReplayRequest
from tests.dead_letter_support import completed_batch, crash_and_dark, failed_image, hours_ago
from tests.review_support import make_member
from tests.workers import reload

pytestmark = pytest.mark.django_db
Status = Image.Status
PAGE = "/review/failed/"
REPLAY = "/review/failed/replay/"


@pytest.fixture
def mine(facility: Facility, media_root: Path) -> dict[str, Image]:
    return crash_and_dark(facility)


@pytest.fixture
def theirs(other_facility: Facility, media_root: Path) -> Image:
    return failed_image(completed_batch(other_facility), "attempts_exhausted", "foreign")


@pytest.fixture
def admin(facility: Facility) -> Client:
    client = Client()
    client.force_login(make_member("ada", facility, "admin"))
    return client


def post(client: Client, key: str | None = None, **fields: str) -> Any:
    body = {"request_key": key or str(uuid.uuid4()), "back": f"{PAGE}?page=1", **fields}
    return client.post(REPLAY, body)


def test_an_admin_sees_the_failed_images_of_their_facility_with_reasons(
    admin: Client, mine: dict[str, Image], theirs: Image, facility: Facility
) -> None:
    html = admin.get(PAGE).content.decode()
    row = html[html.index(f'data-image="{mine["dark"].pk}"') :].split("</tr>")[0]
    model = str(facility.active_model)
    for shown in ("dock-7", "dc-north", "too_dark", "mean 4", model, ">3<"):
        assert shown in row
    assert f'data-image="{mine["crash"].pk}"' in html
    assert f'data-image="{theirs.pk}"' not in html and "attempts_exhausted" not in html
    assert 'data-reason="inference_error"' in html and 'data-reason="too_dark"' in html


def test_filters_narrow_the_list_and_the_counts(admin: Client, mine: dict[str, Image]) -> None:
    html = admin.get(PAGE, {"reason": "too_dark"}).content.decode()
    assert f'data-image="{mine["dark"].pk}"' in html
    assert f'data-image="{mine["crash"].pk}"' not in html
    assert 'data-reason="inference_error"' not in html
    since = admin.get(PAGE, {"since": hours_ago(1.5).strftime("%Y-%m-%dT%H:%M")}).content.decode()
    assert f'data-image="{mine["crash"].pk}"' not in since
    bad = admin.get(PAGE, {"batch": "nope"}).content.decode()
    assert "Ignored a filter: batch" in bad


@pytest.mark.slow
def test_the_list_is_paged(admin: Client, facility: Facility, media_root: Path) -> None:
    batch = completed_batch(facility)
    for _ in range(51):
        failed_image(batch, "inference_error")
    first = admin.get(PAGE).content.decode()
    assert first.count("data-image=") == 50 and "Page 1 of 2" in first
    assert admin.get(PAGE, {"page": 2}).content.decode().count("data-image=") == 1


def test_a_reviewer_sees_no_failed_images(facility: Facility, mine: dict[str, Image]) -> None:
    client = Client()
    client.force_login(make_member("rita", facility, "reviewer"))
    html = client.get(PAGE).content.decode()
    assert "Only a facility admin" in html and "data-image=" not in html
    assert post(client, image=str(mine["crash"].pk)).status_code == 404
    assert reload(mine["crash"]).status == Status.FAILED


def test_replay_one_image_is_queued_again_and_recorded_with_the_admin(
    admin: Client, mine: dict[str, Image], published: Any
) -> None:
    response = post(admin, image=str(mine["crash"].pk), facility="dc-north")
    assert (response.status_code, response["Location"]) == (302, f"{PAGE}?page=1")
    assert reload(mine["crash"]).status == Status.QUEUED
    assert reload(mine["dark"]).status == Status.FAILED
    row = ReplayRequest.objects.get()
    assert row.requested_by is not None
    assert (row.scope, row.author, row.requested_by.username) == (
        "image",
        "failed images page ada",
        "ada",
    )
    page = admin.get(PAGE).content.decode()
    assert "1 image(s) queued again." in page


@pytest.mark.slow
def test_replay_a_batch_and_a_reason_with_another_model(
    admin: Client, mine: dict[str, Image], dev_model_file: Path, published: Any
) -> None:
    other = registry.register_model(dev_model_file, "dev", "candidate", input_size=256)
    post(admin, reason="too_dark", facility="dc-north", model_version=str(other.pk))
    assert (reload(mine["dark"]).status, mine["dark"].replay_model) == (Status.QUEUED, other)
    assert reload(mine["crash"]).status == Status.FAILED
    post(admin, batch=str(mine["crash"].batch_id))
    assert (reload(mine["crash"]).status, mine["crash"].replay_model) == (Status.QUEUED, None)
    assert list(ReplayRequest.objects.order_by("requested_at").values_list("scope", flat=True)) == [
        "reason",
        "batch",
    ]


def test_a_double_click_replays_once(
    admin: Client, mine: dict[str, Image], django_capture_on_commit_callbacks: Any, published: Any
) -> None:
    key = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        post(admin, key, reason="inference_error")
    Image.objects.filter(pk=mine["crash"].pk).update(status=Status.FAILED)  # failed again
    sent = len(published.calls)
    with django_capture_on_commit_callbacks(execute=True):
        post(admin, key, reason="inference_error")
    assert (sent, len(published.calls)) == (1, 1)  # one preprocess message, never again
    assert ReplayRequest.objects.count() == 1
    assert "Already sent (a repeated click)" in admin.get(PAGE).content.decode()


def test_another_facilitys_image_is_404_and_untouched(admin: Client, theirs: Image) -> None:
    assert post(admin, image=str(theirs.pk)).status_code == 404
    assert post(admin, batch=str(theirs.batch_id)).status_code == 404
    assert post(admin, reason="attempts_exhausted", facility="dc-south").status_code == 404
    assert reload(theirs).status == Status.FAILED
    assert not ReplayRequest.objects.exists()


def test_a_bad_replay_says_what_is_wrong(admin: Client, mine: dict[str, Image]) -> None:
    post(admin, reason="Not A Reason")
    assert "Nothing replayed: reason:" in admin.get(PAGE).content.decode()
    post(admin)
    assert (
        "Nothing replayed: Name one image, one batch, or a reason."
        in admin.get(PAGE).content.decode()
    )


def test_the_page_goes_back_only_to_itself(admin: Client, mine: dict[str, Image]) -> None:
    response = admin.post(
        REPLAY, {"request_key": str(uuid.uuid4()), "back": "https://evil.example/", "reason": "x"}
    )
    assert response["Location"] == PAGE
