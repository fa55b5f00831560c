"""Reading results: batch progress counted from the images at every moment, the image list with
its detections in a constant number of queries, and the JSON / CSV exports."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inspection.api.exports import csv_safe
from inspection.models import Batch, Facility, Image, ThresholdPolicy
from tests.api_support import BATCHES_URL, add_detection, make_batch, make_model

ALL_STATUSES = [status.value for status in Image.Status]


def images_url(batch: Batch) -> str:
    return f"{BATCHES_URL}{batch.pk}/images/"


def test_batch_counts_come_from_the_image_statuses(
    api_client: APIClient, facility: Facility
) -> None:
    batch = make_batch(facility, ALL_STATUSES)
    body = api_client.get(f"{BATCHES_URL}{batch.pk}/").json()
    assert body["counts"] == dict(
        total=10, queued=1, processing=5, accepted=1, needs_review=1, failed=1, rejected=1
    )


def test_batch_counts_follow_progress(api_client: APIClient, facility: Facility) -> None:
    batch = make_batch(facility, ["queued", "queued"])
    Image.objects.filter(position=0).update(status=Image.Status.INFERRING)
    counts = api_client.get(f"{BATCHES_URL}{batch.pk}/").json()["counts"]
    assert (counts["queued"], counts["processing"]) == (1, 1)


def test_batch_detail_shows_its_fields_and_links(api_client: APIClient, facility: Facility) -> None:
    done = timezone.now()
    batch = make_batch(
        facility, ["accepted"], status=Batch.Status.COMPLETED, completed_at=done, camera="c1"
    )
    body = api_client.get(f"{BATCHES_URL}{batch.pk}/").json()
    assert (body["id"], body["facility"], body["status"]) == (
        str(batch.pk),
        "dc-north",
        "completed",
    )
    assert body["camera"] == "c1" and body["completed_at"] and body["created_at"]
    assert body["urls"]["images"].endswith(images_url(batch))
    assert body["urls"]["results_csv"].endswith(f"{batch.pk}/results.csv")
    assert body["urls"]["results_json"].endswith(f"{batch.pk}/results.json")


def test_images_are_listed_with_their_detections(api_client: APIClient, facility: Facility) -> None:
    batch = make_batch(facility, ["accepted", "failed"])
    model = make_model()
    first, second = batch.images.order_by("position")
    first.model_version = model
    first.save()
    add_detection(first, model, 0.4)
    add_detection(first, model, 0.9)
    Image.objects.filter(pk=second.pk).update(reason="corrupt", reason_detail="bad huffman")
    rows = api_client.get(images_url(batch)).json()["results"]
    assert [row["position"] for row in rows] == [0, 1]
    assert rows[0]["model_version"] == "parcels:1" and rows[1]["model_version"] is None
    assert [d["confidence"] for d in rows[0]["detections"]] == [0.9, 0.4]
    assert rows[0]["detections"][0] == dict(
        class_id=0, class_name="box", confidence=0.9, box=[1.0, 2.0, 30.0, 40.0], accepted=True
    )
    assert (rows[1]["reason"], rows[1]["reason_detail"], rows[1]["detections"]) == (
        "corrupt",
        "bad huffman",
        [],
    )


def test_image_representation_has_every_documented_field(
    api_client: APIClient, facility: Facility
) -> None:
    batch = make_batch(facility, ["queued"])
    row = api_client.get(images_url(batch)).json()["results"][0]
    assert set(row) == {
        "id", "position", "original_name", "status", "reason", "reason_detail",
        "review_reasons", "width", "height", "format", "size_bytes", "content_hash", "quality",
        "quality_flags", "timings", "attempts", "model_version", "detections", "review",
        "multi_frame", "thresholds", "created_at", "finished_at",
    }  # fmt: skip
    assert (row["multi_frame"], row["thresholds"]) == (False, None)  # not validated yet


def test_an_image_says_which_thresholds_routed_it_and_whether_calibrated(
    api_client: APIClient, facility: Facility
) -> None:
    batch = make_batch(facility, ["accepted", "needs_review", "accepted"])
    first, second, third = batch.images.order_by("position")
    policy = ThresholdPolicy.objects.create(facility=facility, version=4, source="manual")
    Image.objects.filter(pk=first.pk).update(threshold_source="calibrated", multi_frame=True)
    Image.objects.filter(pk=second.pk).update(threshold_source="manual", policy=policy)
    Image.objects.filter(pk=third.pk).update(threshold_source="review_all")
    rows = api_client.get(images_url(batch)).json()["results"]
    assert [row["thresholds"] for row in rows] == [
        {"source": "calibrated", "calibrated": True, "policy_version": None},
        {"source": "manual", "calibrated": False, "policy_version": 4},
        {"source": "review_all", "calibrated": False, "policy_version": None},
    ]
    assert [row["multi_frame"] for row in rows] == [True, False, False]
    exported = api_client.get(f"{BATCHES_URL}{batch.pk}/results.json").json()["rows"]
    assert [(r["thresholds"], r["calibrated"], r["multi_frame"]) for r in exported] == [
        ("calibrated", True, True),
        ("manual", False, False),
        ("review_all", False, False),
    ]


def test_images_filter_by_status(api_client: APIClient, facility: Facility) -> None:
    batch = make_batch(facility, ["accepted", "failed", "accepted"])
    rows = api_client.get(images_url(batch), {"status": "accepted"}).json()["results"]
    assert [row["position"] for row in rows] == [0, 2]


def test_an_unknown_image_status_filter_is_400(api_client: APIClient, facility: Facility) -> None:
    batch = make_batch(facility, ["queued"])
    response = api_client.get(images_url(batch), {"status": "done"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


@pytest.mark.parametrize("size", [2, 30])
def test_listing_images_takes_the_same_queries_whatever_the_batch_size(
    api_client: APIClient, facility: Facility, django_assert_max_num_queries: Any, size: int
) -> None:
    batch = make_batch(facility, ["accepted"] * size)
    model = make_model()
    for image in batch.images.all():
        Image.objects.filter(pk=image.pk).update(model_version=model)
        add_detection(image, model)
        add_detection(image, model, 0.3)
    api_client.get(BATCHES_URL)  # the key's last_used_at write is not part of the count
    with django_assert_max_num_queries(5):
        response = api_client.get(images_url(batch))
    assert len(response.json()["results"]) == size


# --- exports ----------------------------------------------------------------------------------


@pytest.fixture
def exported_batch(facility: Facility) -> Batch:
    """Image 0 with two detections, image 1 failed with none, image 2 with a hostile name."""
    batch = make_batch(facility, ["accepted", "failed", "needs_review"])
    model = make_model()
    first, _, third = batch.images.order_by("position")
    add_detection(first, model, 0.9)
    add_detection(first, model, 0.3)
    Image.objects.filter(position=1, batch=batch).update(reason="not_an_image")
    Image.objects.filter(pk=third.pk).update(original_name='=HYPERLINK("http://x","y")')
    return batch


def test_json_export_has_a_row_per_detection_or_image(
    api_client: APIClient, exported_batch: Batch
) -> None:
    body = api_client.get(f"{BATCHES_URL}{exported_batch.pk}/results.json").json()
    assert body["batch"]["id"] == str(exported_batch.pk)
    rows = body["rows"]
    assert [(row["position"], row["confidence"]) for row in rows] == [
        (0, 0.9),
        (0, 0.3),
        (1, None),
        (2, None),
    ]
    assert rows[0]["box"] == [1.0, 2.0, 30.0, 40.0] and rows[0]["class_name"] == "box"
    assert (rows[2]["status"], rows[2]["reason"], rows[2]["box"]) == (
        "failed",
        "not_an_image",
        None,
    )


def csv_rows(api_client: APIClient, batch: Batch) -> tuple[Any, list[list[str]]]:
    response = api_client.get(f"{BATCHES_URL}{batch.pk}/results.csv")
    return response, list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_export_has_a_header_and_the_same_rows(
    api_client: APIClient, exported_batch: Batch
) -> None:
    response, rows = csv_rows(api_client, exported_batch)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *body = rows
    assert header[:5] == ["image_id", "position", "original_name", "status", "reason"]
    assert len(body) == 4
    assert body[0][header.index("confidence")] == "0.9"
    assert body[0][header.index("x2")] == "30.0"
    assert body[2][header.index("reason")] == "not_an_image"
    assert [body[0][header.index(c)] for c in ("multi_frame", "thresholds", "calibrated")] == [
        "False",
        "",
        "",
    ]


def test_csv_export_neutralizes_formulas_in_client_names(
    api_client: APIClient, exported_batch: Batch
) -> None:
    _, rows = csv_rows(api_client, exported_batch)
    assert rows[-1][rows[0].index("original_name")] == '\'=HYPERLINK("http://x","y")'


@pytest.mark.parametrize("name", ["+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_every_formula_prefix_is_neutralized(name: str) -> None:
    assert csv_safe(name) == f"'{name}"
    assert csv_safe(-1.5) == -1.5
