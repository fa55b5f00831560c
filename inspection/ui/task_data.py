"""What the task page's script needs, as one JSON-ready dict (rendered with `json_script`)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.urls import reverse

from inspection.models import Detection, ReviewTask
from inspection.review.boxes import class_names_for


def _box(detection: Detection) -> dict[str, object]:
    return {
        "class_id": detection.class_id,
        "class_name": detection.class_name,
        "confidence": detection.confidence,
        "box": detection.as_box(),
    }


def task_data(task: ReviewTask, held: bool) -> dict[str, object]:
    image = task.image
    kwargs = {"task_id": task.pk}
    return {
        "image_url": reverse("review:image", kwargs={"image_id": image.pk}),
        "width": image.width or 0,
        "height": image.height or 0,
        "classes": class_names_for(image),
        "boxes": [_box(d) for d in image.final_detections()],
        "editable": held,
        "lease_expires_at": task.lease_expires_at.isoformat() if held else None,
        "lease_seconds": settings.REVIEW_LEASE_SECONDS,
        "renew_url": reverse("review:renew", kwargs=kwargs),
        "release_url": reverse("review:release", kwargs=kwargs),
    }


def boxes_field(data: dict[str, Any]) -> str:
    """The accept form's `boxes` value before any edit: the boxes `data` shows, in the form the
    script sends, so an accept from a page whose script did not run says what it showed."""
    return json.dumps([{"class_id": box["class_id"], "box": box["box"]} for box in data["boxes"]])
