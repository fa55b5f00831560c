"""Helpers shared by the learning-loop tests: auto-accepted images with the model's boxes, in a
completed batch, and their audit tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from inspection.models import Batch, Facility, Image, ReviewTask
from inspection.pipeline.completion import complete_batch_if_done
from inspection.review.boxes import Box as ReviewerBox
from tests.api_support import make_batch
from tests.review_support import CLASSES, Box, add_model_box, parcel_model

# Two confident boxes of a 320x240 photo: a parcel and its label.
ACCEPTED_BOXES: tuple[Box, ...] = (
    (0, 0.93, [20.0, 30.0, 120.0, 150.0]),
    (1, 0.88, [150.0, 40.0, 250.0, 90.0]),
)
# The same with a less confident label.
LOW_LABEL: tuple[Box, ...] = (
    (0, 0.93, [20.0, 30.0, 120.0, 150.0]),
    (1, 0.6, [150.0, 40.0, 250.0, 90.0]),
)
# A reviewer's answer that keeps the parcel and deletes the label.
PARCEL_ONLY = ReviewerBox(0, CLASSES[0], 20.0, 30.0, 120.0, 150.0)


def accepted_batch(
    facility: Facility, count: int, boxes: Sequence[Box] = ACCEPTED_BOXES, **fields: Any
) -> Batch:
    """A completed batch of `count` images the pipeline accepted, each with `boxes`."""
    batch = make_batch(facility, [Image.Status.ACCEPTED] * count, **fields)
    batch.images.update(
        model_version=parcel_model(), width=320, height=240, finished_at=timezone.now()
    )
    for image in batch.images.all():
        add_boxes(image, boxes)
    assert complete_batch_if_done(batch.pk)
    return batch


def add_boxes(image: Image, boxes: Sequence[Box]) -> None:
    for class_id, confidence, corners in boxes:
        add_model_box(image, class_id, confidence, corners)


def audit_task(image: Image) -> ReviewTask:
    """The audit task validation would open for an auto-accepted image."""
    return ReviewTask.objects.create(
        image=image,
        facility=image.facility,
        reasons=[],
        min_confidence=0.88,
        kind=ReviewTask.Kind.AUDIT,
        audit_share=image.facility.audit_share,
    )
