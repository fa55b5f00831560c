"""Submitting a batch: what is stored, what is published, and which limits refuse it before
anything is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from inspection.models import Batch, Facility, Image
from inspection.pipeline.enqueue import PREPROCESS_TASK
from inspection.services.submission import sanitize_filename
from tests import images
from tests.api_support import Published, stored_files, submit, upload
from tests.conftest import make_api_key

pytestmark = pytest.mark.usefixtures("media_root")


def assert_refused(response: Any, status: int, media: Path) -> dict[str, Any]:
    """The answer is a limits error and nothing at all was stored."""
    assert response.status_code == status, response.content
    body = dict(response.json())
    assert body["code"] == "limits_exceeded"
    assert not Batch.objects.exists() and not Image.objects.exists()
    assert stored_files(media) == []
    return body


# --- accepted submissions ---------------------------------------------------------------------


def test_submission_answers_202_with_the_batch_and_its_location(api_client: APIClient) -> None:
    response = submit(api_client, [upload("a.jpg"), upload("b.jpg")], camera="dock-3")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "processing" and body["facility"] == "dc-north"
    assert body["camera"] == "dock-3"
    assert body["counts"] == dict(
        total=2, queued=2, processing=0, accepted=0, needs_review=0, failed=0, rejected=0
    )
    assert response["Location"].endswith(f"/api/v1/batches/{body['id']}/")


def test_submission_creates_queued_images_in_upload_order(
    api_client: APIClient, facility: Facility
) -> None:
    first, second = images.photo_jpeg(64, 48, seed=1), images.photo_jpeg(64, 48, seed=2)
    batch_id = submit(api_client, [upload("a.jpg", first), upload("b.jpg", second)]).json()["id"]
    batch = Batch.objects.get(pk=batch_id)
    rows = list(batch.images.order_by("position"))
    assert batch.total == 2 and batch.facility == facility
    assert [(row.position, row.original_name) for row in rows] == [(0, "a.jpg"), (1, "b.jpg")]
    assert {row.status for row in rows} == {Image.Status.QUEUED}
    assert [row.size_bytes for row in rows] == [len(first), len(second)]
    assert all(row.facility_id == facility.pk and row.storage_key for row in rows)
    assert rows[0].content_hash != rows[1].content_hash


def test_identical_bytes_are_stored_once_but_each_upload_is_an_image(
    api_client: APIClient,
    media_root: Path,  # noqa: F811
) -> None:
    same = images.photo_jpeg(64, 48)
    submit(api_client, [upload("a.jpg", same), upload("b.jpg", same)])
    rows = list(Image.objects.all())
    assert len(rows) == 2 and rows[0].storage_key == rows[1].storage_key
    assert len(stored_files(media_root)) == 1


def test_one_preprocess_message_per_batch_of_images_after_commit(
    api_client: APIClient,
    published: Published,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.PREPROCESS_BATCH_SIZE = 2
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submit(api_client, [upload("a.jpg"), upload("b.jpg"), upload("c.jpg")])
    first, _, third = Image.objects.order_by("position").values_list("pk", flat=True)
    assert len(callbacks) == 1
    assert [name for name, _, _ in published.calls] == [PREPROCESS_TASK] * 2
    assert [args[0] for _, args, _ in published.calls] == [str(first), str(third)]


def test_nothing_is_published_before_commit(
    api_client: APIClient,
    published: Published,  # noqa: F811
) -> None:
    # The test transaction never commits, so a publish here would have escaped on_commit.
    submit(api_client, [upload()])
    assert published.calls == []


@pytest.mark.parametrize(
    "data",
    [images.non_image(), images.empty_file(), images.corrupt_jpeg(), images.svg_image()],
    ids=["non_image", "empty", "corrupt", "svg"],
)
def test_unusable_files_are_accepted_and_left_to_fail_in_the_pipeline(
    api_client: APIClient, data: bytes
) -> None:
    response = submit(api_client, [upload("x.jpg", data), upload("ok.jpg")])
    assert response.status_code == 202
    assert Image.objects.filter(status=Image.Status.QUEUED).count() == 2


def test_client_file_names_are_sanitized(api_client: APIClient) -> None:
    submit(api_client, [upload("..\\..\\windows\\evil\x00\u202egpj.exe")])
    assert Image.objects.get().original_name == "evilgpj.exe"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\photos\\dock 1.jpg", "dock 1.jpg"),
        ("a\tb\nc.png", "abc.png"),
        ("..", ""),
        (None, ""),
        ("x" * 300 + ".jpeg", "x" * 195 + ".jpeg"),
        # Decomposed (NFD, as macOS sends it) and composed spellings become one name.
        ("cafe\u0301.jpg", "caf\u00e9.jpg"),
        ("Ka\u0308se.png", "K\u00e4se.png"),
    ],
)
def test_sanitize_filename(name: str | None, expected: str) -> None:
    assert sanitize_filename(name) == expected


# --- refused requests -------------------------------------------------------------------------


def test_no_files_is_400(api_client: APIClient, media_root: Path) -> None:  # noqa: F811
    assert_refused(submit(api_client, []), 400, media_root)


def test_too_many_files_is_400(
    api_client: APIClient,
    settings: Any,
    media_root: Path,  # noqa: F811
) -> None:
    settings.MAX_FILES_PER_BATCH = 2
    assert_refused(submit(api_client, [upload(), upload(), upload()]), 400, media_root)


def test_more_files_than_django_parses_is_400_limits_exceeded(
    api_client: APIClient,
    settings: Any,
    media_root: Path,  # noqa: F811
) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    assert_refused(submit(api_client, [upload(), upload(), upload()]), 400, media_root)


def refused_rows(batch_id: str) -> list[tuple[int, str, str, str]]:
    rows = Image.objects.filter(batch_id=batch_id, status=Image.Status.FAILED)
    return [(r.position, r.original_name, r.reason, r.storage_key) for r in rows]


def test_a_file_over_the_size_limit_fails_on_its_own_and_the_rest_goes_on(
    api_client: APIClient,
    settings: Any,
    published: Published,
    django_capture_on_commit_callbacks: Any,
    media_root: Path,  # noqa: F811
) -> None:
    small, big = images.photo_jpeg(64, 48), images.photo_jpeg(640, 480)
    settings.MAX_UPLOAD_BYTES = len(small) + 10
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api_client, [upload("ok.jpg", small), upload("big.jpg", big)])
    assert response.status_code == 202, response.content
    batch_id = response.json()["id"]
    assert refused_rows(batch_id) == [(1, "big.jpg", "file_too_large", "")]
    [listed] = response.json()["refused_files"]
    assert (listed["index"], listed["name"], listed["reason"]) == (1, "big.jpg", "file_too_large")
    assert str(len(big)) in listed["detail"]
    failed = Image.objects.get(batch_id=batch_id, position=1)
    assert failed.finished_at is not None and str(len(big)) in failed.reason_detail
    ok = Image.objects.get(batch_id=batch_id, position=0)
    assert ok.status == Image.Status.QUEUED
    assert [args for _, args, _ in published.calls] == [[str(ok.pk)]]  # only the good one queued
    assert len(stored_files(media_root)) == 1  # nothing of the big file was kept


def test_a_batch_over_the_total_size_limit_is_413(
    api_client: APIClient,
    settings: Any,
    media_root: Path,  # noqa: F811
) -> None:
    data = images.photo_jpeg(64, 48)
    settings.MAX_BATCH_BYTES = len(data) * 2 - 1
    assert_refused(submit(api_client, [upload("a", data), upload("b", data)]), 413, media_root)


def test_a_decompression_bomb_fails_too_many_pixels_on_its_own(
    api_client: APIClient,
    media_root: Path,  # noqa: F811
) -> None:
    response = submit(
        api_client, [upload("ok.jpg"), upload("bomb.png", images.decompression_bomb_png())]
    )
    assert response.status_code == 202
    batch_id = response.json()["id"]
    assert refused_rows(batch_id) == [(1, "bomb.png", "too_many_pixels", "")]
    assert Image.objects.get(batch_id=batch_id, position=1).reason_detail
    assert Image.objects.get(batch_id=batch_id, position=0).status == Image.Status.QUEUED


def test_a_batch_of_refused_files_only_completes_at_once(
    api_client: APIClient,
    django_capture_on_commit_callbacks: Any,
    media_root: Path,  # noqa: F811
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api_client, [upload("t.png", images.tiny_image_png())])
    assert response.status_code == 202
    batch = Batch.objects.get(pk=response.json()["id"])
    assert batch.status == Batch.Status.COMPLETED
    assert refused_rows(str(batch.pk)) == [(0, "t.png", "too_small", "")]
    assert stored_files(media_root) == []


def test_every_refused_file_gets_its_own_reason(
    api_client: APIClient,
    settings: Any,
    media_root: Path,  # noqa: F811
) -> None:
    settings.MAX_UPLOAD_BYTES = len(images.photo_jpeg(64, 48)) + 10
    files = [
        upload("big.jpg", images.photo_jpeg(640, 480)),
        upload("t.png", images.tiny_image_png()),
        upload("ok.jpg"),
    ]
    batch_id = submit(api_client, files).json()["id"]
    assert [row[2] for row in refused_rows(batch_id)] == ["file_too_large", "too_small"]
    counts = api_client.get(f"/api/v1/batches/{batch_id}/").json()["counts"]
    assert (counts["failed"], counts["queued"]) == (2, 1)
    repeat = submit(api_client, files[:0] + [upload("ok.jpg")])
    assert repeat.json()["refused_files"] == []


def test_a_facility_without_a_model_is_refused_at_post_with_the_fix(
    bare_facility: Facility,
    media_root: Path,  # noqa: F811
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_api_key(bare_facility)}")
    response = submit(client, [upload("a.jpg"), upload("bad.jpg", b"not an image")], "dc-bare")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "no_active_model"
    assert body["fix"] == "manage.py activate_model --facility dc-bare --default"
    assert body["fix"] in body["detail"]
    assert not Batch.objects.exists() and stored_files(media_root) == []


def test_overload_is_503_with_retry_after(
    api_client: APIClient,
    settings: Any,
    facility: Facility,
    media_root: Path,  # noqa: F811
) -> None:
    settings.MAX_PENDING_IMAGES = 2
    submit(api_client, [upload("a.jpg"), upload("b.jpg")])
    response = submit(api_client, [upload("c.jpg")])
    assert response.status_code == 503
    assert response.json()["code"] == "overloaded"
    assert int(response["Retry-After"]) > 0
    assert Batch.objects.count() == 1


def test_finished_images_do_not_count_towards_overload(
    api_client: APIClient, settings: Any
) -> None:
    settings.MAX_PENDING_IMAGES = 2
    submit(api_client, [upload("a.jpg"), upload("b.jpg")])
    Image.objects.update(status=Image.Status.ACCEPTED)
    assert submit(api_client, [upload("c.jpg")]).status_code == 202


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"facility": ""}, "facility"), ({"camera": "c" * 101}, "camera")],
)
def test_invalid_form_fields_are_400_invalid(
    api_client: APIClient, fields: dict[str, str], field: str
) -> None:
    body = {"facility": "dc-north", "images": [upload()], **fields}
    response = api_client.post("/api/v1/batches/", body, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]
    assert not Batch.objects.exists()


def test_an_idempotency_key_over_200_characters_is_400(api_client: APIClient) -> None:
    response = submit(api_client, [upload()], HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_json_bodies_are_refused_415(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/batches/", {"facility": "dc-north"}, format="json")
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
