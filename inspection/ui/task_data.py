"""What the task page's script needs, as one JSON-ready dict (rendered with `json_script`)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.urls import reverse

from inspection.models import Detection, ReviewTask
from inspection.pipeline.policies import AppliedPolicy
from inspection.review.boxes import class_names_for
from inspection.review.leases import HEARTBEAT_SECONDS
from inspection.review.thresholds import class_threshold, routing_policy


def _box(detection: Detection, applied: AppliedPolicy) -> dict[str, object]:
    threshold = class_threshold(applied, detection.class_name)
    confidence = detection.confidence
    return {
        "class_id": detection.class_id,
        "class_name": detection.class_name,
        "confidence": confidence,
        "threshold": threshold,
        # Below its class threshold: one of the boxes that sent the image to review.
        "below": confidence is not None and threshold is not None and confidence < threshold,
        "box": detection.as_box(),
    }


def uncertain_first(boxes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The boxes that caused the review first, then the rest; each part lowest confidence first
    (a reviewer's boxes, without a confidence, last)."""

    def key(box: dict[str, Any]) -> tuple[bool, bool, float]:
        confidence = box["confidence"]
        return (not box["below"], confidence is None, confidence or 0.0)

    return sorted(boxes, key=key)


def task_boxes(task: ReviewTask) -> list[dict[str, Any]]:
    applied = routing_policy(task.image)
    return uncertain_first([_box(d, applied) for d in task.image.final_detections()])


def task_data(task: ReviewTask, held: bool, user_name: str) -> dict[str, object]:
    image = task.image
    boxes = task_boxes(task)
    lease = task.lease_expires_at  # a held task has one
    return {
        "task_id": task.pk,
        "user": user_name,
        "image_url": reverse("review:image", kwargs={"image_id": image.pk}),
        "width": image.width or 0,
        "height": image.height or 0,
        "classes": class_names_for(image),
        "boxes": boxes,
        "editable": held,
        "decided": task.status == ReviewTask.Status.DONE,
        "lease_expires_at": lease.isoformat() if held and lease is not None else None,
        "lease_seconds": settings.REVIEW_LEASE_SECONDS,
        "heartbeat_seconds": HEARTBEAT_SECONDS,
        **_urls(task),
    }


def _urls(task: ReviewTask) -> dict[str, str]:
    kwargs = {"task_id": task.pk}
    return {
        "task_url": reverse("review:task", kwargs=kwargs),
        "renew_url": reverse("review:renew", kwargs=kwargs),
        "leave_url": reverse("review:leave", kwargs=kwargs),
        "upcoming_url": reverse("review:upcoming", kwargs=kwargs),
    }


def boxes_field(data: dict[str, Any]) -> str:
    """The accept form's `boxes` value before any edit: the boxes `data` shows, in the form the
    script sends, so an accept from a page whose script did not run says what it showed."""
    return json.dumps([{"class_id": box["class_id"], "box": box["box"]} for box in data["boxes"]])
