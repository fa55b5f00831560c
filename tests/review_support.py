"""Helpers shared by the review tests: members of facilities and images waiting for review."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone

from inspection import storage
from inspection.models import (
    Batch,
    Detection,
    Facility,
    FacilityMembership,
    Image,
    ModelVersion,
    ReviewTask,
    ThresholdSource,
)
from inspection.review import leases
from inspection.review.selectors import QueueFilters
from tests import images

PASSWORD = "review-pass-123"
CLASSES = ["parcel", "label", "damage"]
# (class_id, confidence, [x1, y1, x2, y2]) in original pixels of a 320x240 photo.
Box = tuple[int, float, list[float]]
DEFAULT_BOXES: tuple[Box, ...] = (
    (0, 0.42, [20.0, 30.0, 120.0, 150.0]),
    (1, 0.91, [150, 40, 250, 90]),
)


def make_member(username: str, facility: Facility, role: str = "reviewer") -> User:
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    FacilityMembership.objects.create(user=user, facility=facility, role=role)
    return user


def next_claimed(user: User, filters: QueueFilters | None = None) -> ReviewTask:
    """The task claim_next gives `user`, which the test expects there to be."""
    task = leases.claim_next(user, filters)
    assert task is not None, f"no task for {user.username} to claim"
    return task


def parcel_model() -> ModelVersion:
    """Registered with thresholds an operator set (0.5 for every class but damage, 0.6)."""
    return ModelVersion.objects.get_or_create(
        name="parcels",
        version="1",
        defaults={
            "file_path": "/models/parcels.pt",
            "class_names": CLASSES,
            "threshold_source": ThresholdSource.MANUAL,
            "default_threshold": 0.5,
            "class_thresholds": {"damage": 0.6},
        },
    )[0]


def make_task(
    facility: Facility,
    boxes: Sequence[Box] = DEFAULT_BOXES,
    reasons: Sequence[str] = ("low_confidence:parcel",),
    data: bytes | None = None,
    size: tuple[int, int] = (320, 240),
    created_at: datetime | None = None,
    name: str = "photo.jpg",
) -> ReviewTask:
    """A stored photo routed to review with the model's `boxes`, and its open task."""
    batch = Batch.objects.create(facility=facility, total=1, status=Batch.Status.COMPLETED)
    key, sha = storage.store_original(data if data is not None else images.photo_jpeg(*size))
    image = Image.objects.create(
        batch=batch,
        facility=facility,
        position=0,
        original_name=name,
        content_hash=sha,
        storage_key=key,
        width=size[0],
        height=size[1],
        status=Image.Status.NEEDS_REVIEW,
        review_reasons=list(reasons),
        quality={"brightness": 120.0, "blur": 300.0},
        model_version=parcel_model(),
        finished_at=timezone.now(),
    )
    for class_id, confidence, box in boxes:
        add_model_box(image, class_id, confidence, box)
    return ReviewTask.objects.create(
        image=image,
        facility=facility,
        reasons=list(reasons),
        min_confidence=min((b[1] for b in boxes), default=None),
        created_at=created_at or timezone.now(),
    )


def add_model_box(image: Image, class_id: int, confidence: float, box: list[float]) -> Detection:
    x1, y1, x2, y2 = box
    return Detection.objects.create(
        image=image,
        model_version=image.model_version,
        class_id=class_id,
        class_name=CLASSES[class_id],
        confidence=confidence,
        x1=x1,
        y1=y1,
        x2=x2,
        y2=y2,
        accepted=confidence >= 0.5,
    )


def boxes_json(boxes: Sequence[Box] = DEFAULT_BOXES) -> str:
    """`boxes` as the task page sends them with an accept: class id and corners, as JSON."""
    return json.dumps([{"class_id": class_id, "box": corners} for class_id, _, corners in boxes])
