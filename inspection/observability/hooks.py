"""What the pipeline calls to move the metrics: domain objects in, metric updates out.

Kept apart from the stage code so a stage reads as business logic with one-line hooks, and
kept failure-proof: a metric must never fail an image.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from inspection.observability import metrics

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1024)
def facility_slug(facility_id: int) -> str:
    """Facility slugs label the metrics; they are stable, so one query per process each."""
    from inspection.models import Facility

    slug = Facility.objects.filter(pk=facility_id).values_list("slug", flat=True).first()
    return slug or str(facility_id)


def claimed(claim: Any) -> None:
    """A stage claimed an image: how long it waited in the stage's waiting status."""
    waited = (claim.claimed_at - claim.waiting_since).total_seconds()
    metrics.record_queue_wait(claim.stage.name, waited)


def stage_ran(stage: str, seconds: float) -> None:
    metrics.record_stage(stage, seconds)


def inference_batch(size: int) -> None:
    metrics.record_inference_batch(size)


def shadow_inferred(facility_id: int, model: str, seconds: float, boxes: int) -> None:
    """One image a shadow model ran on: its time per image and its boxes."""
    try:
        metrics.record_shadow(facility_slug(facility_id), model, seconds, boxes)
    except Exception:
        logger.warning("could not record a shadow inference", exc_info=True)


def shadow_failed(facility: str, model: str) -> None:
    try:
        metrics.record_shadow_failure(facility, model)
    except Exception:
        logger.warning("could not record a shadow failure", exc_info=True)


def model_loaded(seconds: float, loads_in_process: int) -> None:
    metrics.record_model_load(seconds, loads_in_process)


def model_backend(model: str, backend: str, device: str) -> None:
    """What runs a model version in this process (torch, openvino, onnxruntime)."""
    metrics.record_backend(model, backend, device)


def image_finished(facility_id: int, status: str, reason: str = "") -> None:
    try:
        metrics.record_finished(facility_slug(facility_id), status, reason)
    except Exception:  # the image's state is committed; a lost sample is not worth an error
        logger.warning("could not record the finished image", exc_info=True)


def image_failed(image_id: Any, reason: str) -> None:
    from inspection.models import Image

    facility_id = Image.objects.filter(pk=image_id).values_list("facility_id", flat=True).first()
    if facility_id is not None:
        image_finished(facility_id, Image.Status.FAILED, reason)


def images_replayed(image_ids: Iterable[Any]) -> None:
    """After a replay committed: how many images of each facility it sent again."""
    from django.db.models import Count

    from inspection.models import Image

    try:
        rows = Image.objects.filter(pk__in=list(image_ids)).values("facility_id")
        for row in rows.annotate(n=Count("id")).order_by():
            metrics.record_replayed(facility_slug(row["facility_id"]), row["n"])
    except Exception:  # the replay is committed; a lost sample is not worth an error
        logger.warning("could not record the replayed images", exc_info=True)


def detections_kept(facility_id: int, detections: Iterable[tuple[str, float]]) -> None:
    metrics.record_confidences(facility_slug(facility_id), detections)
