"""Exports for retraining: YOLO zip, COCO and Label Studio JSON with the reviewer's boxes, for
one facility and range of review dates; large ones built by the `inspection.build_export`
task."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image as PillowImage

from inspection.models import ExportJob, Image
from inspection.review import leases
from inspection.review.boxes import parse_boxes
from inspection.review.decisions import DecisionRequest, decide
from inspection.review.exports import request_export
from tasks.review import build_export
from tests import images
from tests.review_support import make_task

pytestmark = pytest.mark.usefixtures("media_root")

FIXED = [{"class_id": 0, "box": [32, 24, 160, 144]}, {"class_id": 2, "box": [200, 120, 280, 200]}]


def reviewed(facility: Any, reviewer: Any, verdict: str = "accepted", **fields: Any) -> Image:
    task = make_task(facility, **fields)
    leases.claim_task(task, reviewer)
    if verdict == "accepted":
        boxes = parse_boxes(json.dumps(FIXED), task.image)
        decide(task, reviewer, DecisionRequest("accepted", boxes))
    else:
        decide(task, reviewer, DecisionRequest("rejected", reason="other"))
    return Image.objects.get(pk=task.image_id)


def export(facility: Any, reviewer: Any, format: str) -> tuple[ExportJob, bytes]:
    today = timezone.now().date()
    job = request_export(reviewer, facility, format, today - timedelta(days=1), today)
    assert job.status == "done", job.error
    with default_storage.open(job.file_key, "rb") as handle:
        return job, handle.read()


def test_yolo_export_holds_images_labels_and_data_yaml(facility: Any, reviewer: Any) -> None:
    image = reviewed(facility, reviewer)
    reviewed(facility, reviewer, verdict="rejected")  # no usable labels: left out
    job, data = export(facility, reviewer, "yolo")
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == [
        "data.yaml",
        f"images/{image.pk}.jpg",
        f"labels/{image.pk}.txt",
    ]
    lines = [line.split() for line in archive.read(f"labels/{image.pk}.txt").decode().splitlines()]
    assert [line[0] for line in lines] == ["0", "2"]
    cx, cy, w, h = (float(value) for value in lines[0][1:])
    assert (cx, cy, w, h) == pytest.approx((0.3, 0.35, 0.4, 0.5))
    assert '0: "parcel"' in archive.read("data.yaml").decode()
    picture = PillowImage.open(io.BytesIO(archive.read(f"images/{image.pk}.jpg")))
    assert picture.size == (320, 240)
    assert job.image_count == 1


def test_yolo_export_images_are_turned_like_their_boxes(facility: Any, reviewer: Any) -> None:
    # Stored 640x480 with EXIF orientation 6: the boxes live on the upright 480x640 picture.
    image = reviewed(facility, reviewer, data=images.exif_rotated_jpeg(6), size=(480, 640))
    _, data = export(facility, reviewer, "yolo")
    picture = zipfile.ZipFile(io.BytesIO(data)).read(f"images/{image.pk}.jpg")
    assert PillowImage.open(io.BytesIO(picture)).size == (480, 640)


def test_coco_export_has_pixel_boxes_and_categories(facility: Any, reviewer: Any) -> None:
    image = reviewed(facility, reviewer)
    _, data = export(facility, reviewer, "coco")
    document = json.loads(data)
    assert document["images"] == [
        {"id": 1, "file_name": f"{image.pk}.jpg", "width": 320, "height": 240}
    ]
    assert [a["bbox"] for a in document["annotations"]] == [[32, 24, 128, 120], [200, 120, 80, 80]]
    assert [a["category_id"] for a in document["annotations"]] == [0, 2]
    assert {c["id"]: c["name"] for c in document["categories"]} == {
        0: "parcel",
        1: "label",
        2: "damage",
    }


def test_label_studio_export_has_percent_boxes_and_the_models_predictions(
    facility: Any, reviewer: Any
) -> None:
    image = reviewed(facility, reviewer)
    _, data = export(facility, reviewer, "labelstudio")
    (task,) = json.loads(data)
    assert task["data"]["image"] == f"/review/images/{image.pk}/image.jpg"
    (annotation,) = task["annotations"]
    assert annotation["completed_by"] == "rita"
    first = annotation["result"][0]["value"]
    assert (first["x"], first["y"], first["width"], first["height"]) == pytest.approx(
        (10, 10, 40, 50)
    )
    assert first["rectanglelabels"] == ["parcel"]
    scores = [r["score"] for r in task["predictions"][0]["result"]]
    assert sorted(scores) == pytest.approx([0.42, 0.91])


def test_exports_cover_only_the_chosen_review_dates(facility: Any, reviewer: Any) -> None:
    image = reviewed(facility, reviewer)
    Image.objects.filter(pk=image.pk).update(reviewed_at=timezone.now() - timedelta(days=10))
    job, data = export(facility, reviewer, "coco")
    assert json.loads(data)["images"] == [] and job.image_count == 0


def test_large_exports_are_built_by_a_worker(
    facility: Any,
    reviewer: Any,
    settings: Any,
    published: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.EXPORT_INLINE_MAX_IMAGES = 0
    reviewed(facility, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        job = request_export(reviewer, facility, "coco", date.today(), date.today())
    assert job.status == "pending"
    assert published.calls == [("inspection.build_export", [str(job.pk)], f"export:{job.pk}")]
    build_export(str(job.pk))  # the task body, as the worker runs it
    build_export(str(job.pk))  # a repeated message finds the job taken
    job.refresh_from_db()
    assert (job.status, job.image_count) == ("done", 1)


def test_the_exports_page_creates_and_downloads(
    facility: Any, reviewer: Any, reviewer_client: Any
) -> None:
    reviewed(facility, reviewer)
    today = timezone.now().date().isoformat()
    form = {"facility": facility.slug, "format": "coco", "date_from": today, "date_to": today}
    assert reviewer_client.post("/review/exports/", form).status_code == 302
    job = ExportJob.objects.get()
    page = reviewer_client.get("/review/exports/").content.decode()
    assert f"/review/exports/{job.pk}/download/" in page
    download = reviewer_client.get(f"/review/exports/{job.pk}/download/")
    assert download["Content-Disposition"].startswith("attachment")
    assert len(json.loads(b"".join(download.streaming_content))["images"]) == 1
