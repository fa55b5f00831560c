"""Exports of reviewed images with their final (human) labels, for retraining: YOLO (a zip of
images/, labels/ and data.yaml), COCO JSON and Label Studio JSON.

What is exported: images of one facility that a reviewer accepted, by review date (inclusive),
with the reviewer's boxes. Rejected images are left out (no usable labels). Images are the
originals decoded and turned by their EXIF orientation (the boxes' geometry), as JPEG. Class ids
are the model's class ids; COCO category ids are those plus one (COCO's ids start at 1, and its
tools treat 0 as no category). Label Studio tasks link their image by absolute URL and name the
reviewer by user id in `completed_by`, as Label Studio's importer expects.

Small exports are built in the request; larger ones by the `inspection.build_export` task on the
CPU queue. Either way the file lands in storage under `exports/` and the ExportJob row links it.
"""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import IO
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from inspection import task_names
from inspection.messaging import send
from inspection.models import ExportJob, Facility, Image
from inspection.review.access import User, require_decide
from inspection.review.boxes import Box, class_names_for
from inspection.review.display import image_jpeg

logger = logging.getLogger(__name__)

# Seconds: (soft, hard) for the build task. Decoding and re-encoding thousands of full-size images
# takes a while; past the soft limit the job fails with the error, past the hard one the worker
# is killed and the sweep fails the job.
BUILD_LIMITS = (1800, 1900)
# Spooled to disk past this size, so a large export never has to fit in memory.
SPOOL_BYTES = 32 * 1024 * 1024
QUOTE = {'"': "&quot;"}


@dataclass(frozen=True)
class ExportItem:
    image: Image
    file_name: str
    boxes: list[Box]
    image_url: str = ""

    @property
    def width(self) -> int:
        return int(self.image.width or 0)

    @property
    def height(self) -> int:
        return int(self.image.height or 0)


# --- requesting and building ------------------------------------------------------------------


def request_export(
    user: User,
    facility: Facility,
    format: str,
    date_from: date,
    date_to: date,
    image_base_url: str = "",
) -> ExportJob:
    """Create the job; build it now when small, else hand it to a worker after commit.
    `image_base_url` is the site the request came to (where exported image links point unless
    EXPORT_IMAGE_BASE_URL says otherwise)."""
    requester = require_decide(user, facility.pk)
    job = ExportJob.objects.create(
        facility=facility,
        requested_by=requester,
        format=format,
        date_from=date_from,
        date_to=date_to,
        image_base_url=image_base_url,
    )
    if reviewed_images(job).count() <= settings.EXPORT_INLINE_MAX_IMAGES:
        build_export(job.pk)
        job.refresh_from_db()
    else:
        transaction.on_commit(partial(send_build, job.pk))
    return job


def send_build(job_id: object) -> None:
    send(
        task_names.BUILD_EXPORT,
        str(job_id),
        settings.MAINTENANCE_QUEUE_NAME,
        task_id=f"export:{job_id}",
    )


def build_export(job_id: uuid.UUID | str) -> bool:
    """Build a pending job's file (once: a repeated message finds it started). Failures end the
    job `failed` with the error instead of leaving it running."""
    job = ExportJob.objects.select_related("facility").filter(pk=job_id).first()
    if job is None or not job.start():
        return False
    try:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as output:
            count = RENDERERS[job.format](export_items(job), output)
            output.seek(0)
            key = default_storage.save(f"exports/{job.pk}/{job.file_name}", File(output))
    except Exception as exc:  # any failure must end the job visibly, not leave it running
        logger.exception("export failed [export_id=%s]", job.pk)
        return job.fail(repr(exc))
    return job.finish(key, count)


def reviewed_images(job: ExportJob) -> QuerySet[Image]:
    start = timezone.make_aware(datetime.combine(job.date_from, time.min))
    end = timezone.make_aware(datetime.combine(job.date_to + timedelta(days=1), time.min))
    return (
        Image.objects.filter(
            facility=job.facility_id,
            verdict=Image.Verdict.ACCEPTED,
            reviewed_at__gte=start,
            reviewed_at__lt=end,
        )
        .select_related("model_version", "facility__active_model", "reviewed_by")
        .order_by("reviewed_at", "pk")
    )


def export_items(job: ExportJob) -> Iterator[ExportItem]:
    images = reviewed_images(job).prefetch_related("detections")
    base = (settings.EXPORT_IMAGE_BASE_URL or job.image_base_url).rstrip("/")
    for image in images.iterator(chunk_size=200):
        boxes = [Box.of(d) for d in image.final_detections()]
        url = base + reverse("review:image", kwargs={"image_id": image.pk})
        yield ExportItem(image, f"{image.pk}.jpg", boxes, url)


def class_map(items: list[ExportItem]) -> dict[int, str]:
    """Class id -> name over the exported images' models and boxes."""
    names: dict[int, str] = {}
    for item in items:
        for class_id, name in enumerate(class_names_for(item.image)):
            names.setdefault(class_id, name)
        for box in item.boxes:
            names.setdefault(box.class_id, box.class_name)
    return dict(sorted(names.items()))


# --- YOLO -------------------------------------------------------------------------------------


def yolo_line(box: Box, width: int, height: int) -> str:
    """`class cx cy w h`, normalized to 0..1."""
    cx, cy = (box.x1 + box.x2) / 2 / width, (box.y1 + box.y2) / 2 / height
    w, h = (box.x2 - box.x1) / width, (box.y2 - box.y1) / height
    return f"{box.class_id} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


def data_yaml(names: dict[int, str], train: str = "images", val: str = "images") -> str:
    # No `path:`: ultralytics then resolves images/ next to this file wherever it is unpacked
    # (`path: .` would mean the directory training is started from).
    lines = [f"train: {train}", f"val: {val}", f"nc: {len(names)}", "names:"]
    lines += [f"  {class_id}: {json.dumps(name)}" for class_id, name in names.items()]
    return "\n".join(lines) + "\n"


def render_yolo(items: Iterator[ExportItem], output: IO[bytes]) -> int:
    exported: list[ExportItem] = []
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            stem = item.file_name.rsplit(".", 1)[0]
            lines = [yolo_line(box, item.width, item.height) for box in item.boxes]
            archive.writestr(f"images/{item.file_name}", image_jpeg(item.image, quality=95))
            archive.writestr(f"labels/{stem}.txt", "".join(f"{line}\n" for line in lines))
            exported.append(item)
        archive.writestr("data.yaml", data_yaml(class_map(exported)))
    return len(exported)


# --- COCO -------------------------------------------------------------------------------------


def coco_document(items: list[ExportItem]) -> dict[str, object]:
    images = [_coco_image(image_id, item) for image_id, item in enumerate(items, start=1)]
    pairs = [(image_id, box) for image_id, item in enumerate(items, start=1) for box in item.boxes]
    annotations = [_coco_annotation(n, image_id, box) for n, (image_id, box) in enumerate(pairs, 1)]
    categories = [
        {"id": coco_category(cid), "name": name, "supercategory": "package"}
        for cid, name in class_map(items).items()
    ]
    info = {"description": "Inspection reviewed labels", "date_created": timezone.now().isoformat()}
    return {"info": info, "images": images, "annotations": annotations, "categories": categories}


def _coco_image(image_id: int, item: ExportItem) -> dict[str, object]:
    return {"id": image_id, "file_name": item.file_name, "width": item.width, "height": item.height}


def coco_category(class_id: int) -> int:
    return class_id + 1


def _coco_annotation(annotation_id: int, image_id: int, box: Box) -> dict[str, object]:
    width, height = box.x2 - box.x1, box.y2 - box.y1
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": coco_category(box.class_id),
        "bbox": [box.x1, box.y1, width, height],
        "area": width * height,
        "iscrowd": 0,
    }


def render_coco(items: Iterator[ExportItem], output: IO[bytes]) -> int:
    exported = list(items)
    output.write(json.dumps(coco_document(exported)).encode())
    return len(exported)


# --- Label Studio -----------------------------------------------------------------------------


def label_studio_task(item: ExportItem) -> dict[str, object]:
    """One Label Studio task: the image URL, the reviewer's boxes as an annotation and the
    model's as a prediction (percent coordinates, as Label Studio stores rectangles)."""
    image = item.image
    model_boxes = [Box.of(d) for d in image.model_detections()]
    reviewer = image.reviewed_by
    return {
        "data": {
            "image": item.image_url,
            "image_id": str(image.pk),
            "reviewed_by": reviewer.get_username() if reviewer else "",
        },
        "annotations": [_ls_annotation(item)],
        "predictions": [
            {
                "model_version": str(image.model_version or ""),
                "result": _ls_results(model_boxes, item.width, item.height),
            }
        ],
    }


def _ls_annotation(item: ExportItem) -> dict[str, object]:
    annotation: dict[str, object] = {"result": _ls_results(item.boxes, item.width, item.height)}
    if item.image.reviewed_by_id is not None:  # else Label Studio credits the importing user
        annotation["completed_by"] = item.image.reviewed_by_id
    if item.image.reviewed_at is not None:
        annotation["created_at"] = item.image.reviewed_at.isoformat()
    return annotation


def label_studio_config(names: dict[int, str]) -> str:
    """The labeling config the exported tasks fit (a project to import them into needs it)."""
    labels = "".join(f'<Label value="{escape(name, QUOTE)}"/>' for name in names.values())
    return (
        '<View><Image name="image" value="$image"/>'
        f'<RectangleLabels name="label" toName="image">{labels}</RectangleLabels></View>'
    )


def _ls_results(boxes: list[Box], width: int, height: int) -> list[dict[str, object]]:
    return [_ls_rectangle(n, box, width, height) for n, box in enumerate(boxes)]


def _ls_rectangle(n: int, box: Box, width: int, height: int) -> dict[str, object]:
    value = {
        "x": box.x1 / width * 100,
        "y": box.y1 / height * 100,
        "width": (box.x2 - box.x1) / width * 100,
        "height": (box.y2 - box.y1) / height * 100,
        "rotation": 0,
        "rectanglelabels": [box.class_name],
    }
    result: dict[str, object] = {
        "id": f"box{n}",
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": value,
    }
    if box.confidence is not None:
        result["score"] = box.confidence
    return result


def render_label_studio(items: Iterator[ExportItem], output: IO[bytes]) -> int:
    tasks = [label_studio_task(item) for item in items]
    output.write(json.dumps(tasks).encode())
    return len(tasks)


# Keyed by the job's format: a plain string once read from the database.
RENDERERS: dict[str, Callable[[Iterator[ExportItem], IO[bytes]], int]] = {
    ExportJob.Format.YOLO: render_yolo,
    ExportJob.Format.COCO: render_coco,
    ExportJob.Format.LABEL_STUDIO: render_label_studio,
}
