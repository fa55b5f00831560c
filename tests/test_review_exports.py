"""Exports for retraining: YOLO zip, COCO and Label Studio JSON with the reviewer's boxes, for
one facility and range of review dates; large ones built by the `inspection.build_export`
task."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from label_studio_sdk.label_interface import LabelInterface
from label_studio_sdk.label_interface.objects import TaskValue
from PIL import Image as PillowImage
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from pydantic import ValidationError as PydanticValidationError
from ultralytics.data.dataset import YOLODataset
from ultralytics.data.utils import check_det_dataset

from inspection.models import ExportJob, Image
from inspection.review import leases
from inspection.review.boxes import parse_boxes
from inspection.review.decisions import DecisionRequest, decide
from inspection.review.exports import label_studio_config, request_export
from tasks.review import build_export
from tests import images
from tests.review_support import CLASSES, make_task

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
    base = "http://review.example"  # the site the request came to
    job = request_export(reviewer, facility, format, today - timedelta(days=1), today, base)
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


def test_coco_export_has_pixel_boxes_and_one_based_categories(facility: Any, reviewer: Any) -> None:
    image = reviewed(facility, reviewer)
    _, data = export(facility, reviewer, "coco")
    document = json.loads(data)
    assert document["images"] == [
        {"id": 1, "file_name": f"{image.pk}.jpg", "width": 320, "height": 240}
    ]
    assert [a["bbox"] for a in document["annotations"]] == [[32, 24, 128, 120], [200, 120, 80, 80]]
    # COCO's ids start at 1: class 0 (parcel) is category 1.
    assert [a["category_id"] for a in document["annotations"]] == [1, 3]
    assert {c["id"]: c["name"] for c in document["categories"]} == {
        1: "parcel",
        2: "label",
        3: "damage",
    }


def test_coco_export_loads_and_evaluates_in_pycocotools(
    facility: Any, reviewer: Any, tmp_path: Path
) -> None:
    reviewed(facility, reviewer, name="a.jpg")
    reviewed(facility, reviewer, name="b.jpg")
    _, data = export(facility, reviewer, "coco")
    path = tmp_path / "coco.json"
    path.write_bytes(data)
    truth = COCO(str(path))  # pycocotools' own loader: index, categories, images
    assert truth.getCatIds(catNms=["damage"]) == [3]
    assert len(truth.getImgIds()) == 2 and len(truth.getAnnIds()) == 4
    # The reviewed boxes as detections of a perfect model, and one image's damage box missed.
    results = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 0.9,
        }
        for a in truth.loadAnns(truth.getAnnIds())
        if not (a["image_id"] == 2 and a["category_id"] == 3)
    ]
    evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    ap, ap50, recall = evaluation.stats[0], evaluation.stats[1], evaluation.stats[8]
    # parcel found on both images (AP 1), damage on one of two (AP 0.5); label has no box.
    assert ap == pytest.approx(0.75, abs=0.01) and ap50 == pytest.approx(0.75, abs=0.01)
    assert recall == pytest.approx(0.75, abs=0.01)


def test_label_studio_export_has_percent_boxes_and_the_models_predictions(
    facility: Any, reviewer: Any
) -> None:
    image = reviewed(facility, reviewer)
    _, data = export(facility, reviewer, "labelstudio")
    (task,) = json.loads(data)
    assert task["data"]["image"] == f"http://review.example/review/images/{image.pk}/image.jpg"
    (annotation,) = task["annotations"]
    assert annotation["completed_by"] == reviewer.pk  # Label Studio's importer takes a user id
    assert task["data"]["reviewed_by"] == "rita"
    first = annotation["result"][0]["value"]
    assert (first["x"], first["y"], first["width"], first["height"]) == pytest.approx(
        (10, 10, 40, 50)
    )
    assert first["rectanglelabels"] == ["parcel"]
    scores = [r["score"] for r in task["predictions"][0]["result"]]
    assert sorted(scores) == pytest.approx([0.42, 0.91])


def test_label_studio_export_passes_label_studios_own_validation(
    facility: Any, reviewer: Any
) -> None:
    """Label Studio's SDK validates each task (its pydantic task model: `completed_by` an int)
    and each annotation and prediction against the labeling config the README gives."""
    reviewed(facility, reviewer)
    reviewed(facility, reviewer, name="second.jpg")
    _, data = export(facility, reviewer, "labelstudio")
    tasks = json.loads(data)
    interface = LabelInterface(label_studio_config(dict(enumerate(CLASSES))))
    for task in tasks:
        TaskValue.model_validate(task)
        for annotation in task["annotations"]:
            assert interface._validate_object_logic(annotation) == []
        for prediction in task["predictions"]:
            assert interface.validate_prediction(prediction, return_errors=True) == []
        assert urlsplit(task["data"]["image"]).scheme == "http"
    # The same check refuses what the export used to write (a user name, a foreign label).
    broken = {**tasks[0], "annotations": [{**tasks[0]["annotations"][0], "completed_by": "rita"}]}
    with pytest.raises(PydanticValidationError):
        TaskValue.model_validate(broken)
    result = tasks[0]["annotations"][0]["result"][0]
    foreign = {**result, "value": {**result["value"], "rectanglelabels": ["pallet"]}}
    assert interface._validate_object_logic({"result": [foreign]}) != []


def test_yolo_export_passes_ultralytics_dataset_check(
    facility: Any, reviewer: Any, tmp_path: Path
) -> None:
    reviewed(facility, reviewer)
    reviewed(facility, reviewer, name="second.jpg")
    _, data = export(facility, reviewer, "yolo")
    folder = tmp_path / "unpacked"
    zipfile.ZipFile(io.BytesIO(data)).extractall(folder)
    checked = check_det_dataset(str(folder / "data.yaml"), autodownload=False)
    assert checked["names"] == {0: "parcel", 1: "label", 2: "damage"}
    assert Path(checked["train"]) == folder / "images"  # next to data.yaml, wherever unpacked
    dataset = YOLODataset(img_path=checked["train"], data=checked, augment=False, imgsz=320)
    labels = dataset.get_labels()  # ultralytics reads and verifies every image and label
    assert len(labels) == 2
    assert [sorted(label["cls"].ravel().tolist()) for label in labels] == [[0.0, 2.0]] * 2


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
