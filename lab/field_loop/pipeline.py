"""The service's normal path for the field images: a facility made like `create_facility`
makes one (the bundled default model and its calibrated thresholds), submission through the
service the REST API calls, and the three stage services run in this process, as a worker
runs them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.core.files.base import ContentFile
from django.db.models import QuerySet

from inspection.models import Facility, Image
from inspection.pipeline.infer import infer_image
from inspection.pipeline.preprocess import preprocess_image
from inspection.pipeline.validate import validate_image
from inspection.services.facilities import create_facility
from inspection.services.submission import SubmissionRequest, submit_batch
from lab.field_loop.field import FieldImage

STAGES = (
    (preprocess_image, Image.Status.QUEUED),
    (infer_image, Image.Status.PREPROCESSED),
    (validate_image, Image.Status.INFERRED),
)
CAMERA = "field-simulation"


class FacilityInUse(ValueError):
    """The facility already has images: its audits would mix with the simulation's."""


def field_facility(slug: str, audit_share: float) -> Facility:
    """A new (or still empty) facility with the default model, auditing `audit_share`."""
    if not 0 < audit_share <= 1:
        raise ValueError(f"--audit-share must be in (0, 1], not {audit_share}.")
    facility = create_facility(slug)
    if Image.objects.filter(facility=facility).exists():
        raise FacilityInUse(
            f"Facility '{slug}' already has images; its audits would mix with this run's. "
            f"Use a new --facility slug."
        )
    Facility.objects.filter(pk=facility.pk).update(audit_share=audit_share)
    facility.refresh_from_db()
    return facility


def submit(facility: Facility, images: Sequence[FieldImage]) -> dict[uuid.UUID, FieldImage]:
    """One batch, as the API submits it; the field image behind each image row."""
    files = [ContentFile(image.jpeg, name=image.name) for image in images]
    batch = submit_batch(SubmissionRequest(facility=facility, files=files, camera=CAMERA)).batch
    rows = Image.objects.filter(batch=batch).values_list("id", "position")
    return {image_id: images[position] for image_id, position in rows}


def process(batch_images: Sequence[uuid.UUID]) -> None:
    """The stages in turn, again and again, until a round moves none of the batch's images: with
    back-pressure (pipeline/backpressure.py) preprocessing runs only a window ahead of inference,
    so a batch larger than the window takes several rounds. A stage claims the next batch in
    fair order, so it may take other waiting images too (there are none in a fresh database)."""
    images = Image.objects.filter(id__in=batch_images)
    while True:
        before = dict(images.values_list("id", "status"))
        for stage, waiting in STAGES:
            _drain(stage, waiting, images)
        if dict(images.values_list("id", "status")) == before:
            return


def _drain(stage: Callable[[Any], int], waiting: str, images: QuerySet[Image]) -> None:
    """Run the stage while the batch has images waiting for it and it takes some."""
    for _ in range(images.count() + 1):
        ready = images.filter(status=waiting).first()
        if ready is None or not stage(ready.id):
            return
