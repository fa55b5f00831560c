"""What the grid page shows per tile: thumbnail, boxes (uncertain first, with thresholds) and the
task's links; and the task ids a grid form posts."""

from __future__ import annotations

from django.http import QueryDict
from django.urls import reverse

from inspection.models import ReviewTask
from inspection.ui.task_data import task_boxes

MAX_POSTED_IDS = 100


def grid_data(tasks: list[ReviewTask]) -> list[dict[str, object]]:
    return [_tile(task) for task in tasks]


def _tile(task: ReviewTask) -> dict[str, object]:
    image = task.image
    return {
        "task_id": task.pk,
        "name": image.original_name or str(image.pk),
        "width": image.width or 1,
        "height": image.height or 1,
        "thumb_url": reverse("review:thumbnail", kwargs={"image_id": image.pk}),
        "task_url": reverse("review:task", kwargs={"task_id": task.pk}),
        "boxes": [{**box, "rect": _rect(box["box"])} for box in task_boxes(task)],
        "min_confidence": task.min_confidence,
    }


def _rect(box: list[float]) -> list[float]:
    """[x, y, width, height] for an SVG rect."""
    x1, y1, x2, y2 = box
    return [x1, y1, x2 - x1, y2 - y1]


def task_ids(data: QueryDict) -> list[int]:
    """The `task` values of a grid form, as ids (anything else is ignored)."""
    values = data.getlist("task")[:MAX_POSTED_IDS]
    return [int(value) for value in values if value.isdigit()]
