"""Helpers shared by the REST API tests: temporary media storage, uploads, published tasks, and
batches in a chosen state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from inspection.models import Batch, Detection, Facility, Image, ModelVersion
from tests import images

if TYPE_CHECKING:
    # What the test client answers (a Response with the client's json() and more); a name in
    # DRF's stubs only.
    from rest_framework.response import _MonkeyPatchedResponse

BATCHES_URL = "/api/v1/batches/"


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def upload(name: str = "photo.jpg", data: bytes | None = None) -> SimpleUploadedFile:
    payload = images.photo_jpeg(64, 48) if data is None else data
    return SimpleUploadedFile(name, payload, content_type="application/octet-stream")


def submit(
    client: APIClient,
    files: list[SimpleUploadedFile],
    facility: str = "dc-north",
    **extra: Any,
) -> _MonkeyPatchedResponse:
    """POST a batch; extra keys are form fields, or headers when they start with HTTP_."""
    headers = {key: value for key, value in extra.items() if key.startswith("HTTP_")}
    data = {key: value for key, value in extra.items() if not key.startswith("HTTP_")}
    body = {"facility": facility, "images": files, **data}
    return client.post(BATCHES_URL, body, format="multipart", **headers)


@dataclass
class Published:
    """Tasks the app would have sent to the broker: (task name, args, task id)."""

    calls: list[tuple[str, list[str], str]] = field(default_factory=list)

    def send_task(
        self, name: str, args: list[str], queue: str, task_id: str, **options: Any
    ) -> None:
        self.calls.append((name, args, task_id))


def make_model(name: str = "parcels", version: str = "1") -> ModelVersion:
    return ModelVersion.objects.create(
        name=name, version=version, file_path="/models/x.pt", class_names=["box", "label"]
    )


def finished_at(image: Image) -> datetime:
    """When a finished image finished."""
    assert image.finished_at is not None, f"image {image.pk} has not finished"
    return image.finished_at


def make_batch(facility: Facility, statuses: Sequence[str], **fields: Any) -> Batch:
    batch = Batch.objects.create(facility=facility, total=len(statuses), **fields)
    Image.objects.bulk_create(
        Image(batch=batch, facility=facility, position=i, original_name=f"{i}.jpg", status=status)
        for i, status in enumerate(statuses)
    )
    return batch


def add_detection(image: Image, model: ModelVersion, confidence: float = 0.9) -> Detection:
    return Detection.objects.create(
        image=image,
        model_version=model,
        class_id=0,
        class_name="box",
        confidence=confidence,
        x1=1.0,
        y1=2.0,
        x2=30.0,
        y2=40.0,
        accepted=confidence >= 0.5,
    )
