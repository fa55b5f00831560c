"""Reads shared by the API and the UI. Every batch or image query takes the caller's
facilities (a queryset, used as a subquery) so nothing outside them can be reached; a foreign
id and a missing id look the same (404)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from inspection.limits import PER_FILE_LIMIT_REASONS
from inspection.models import Batch, Facility, Image, ModelVersion, ThresholdPolicy
from inspection.pipeline.policies import policy_for
from inspection.validation import Policy

FacilityScope = QuerySet[Facility]

PROCESSING_STATUSES = (
    Image.Status.PREPROCESSING,
    Image.Status.PREPROCESSED,
    Image.Status.INFERRING,
    Image.Status.INFERRED,
    Image.Status.VALIDATING,
)


def _count_images(*statuses: str) -> Count:
    return Count("images", filter=Q(images__status__in=statuses))


# Counts are derived from the images at query time, so they are right at every moment.
BATCH_COUNTS = {
    "count_total": Count("images"),
    "count_queued": _count_images(Image.Status.QUEUED),
    "count_processing": _count_images(*PROCESSING_STATUSES),
    "count_accepted": _count_images(Image.Status.ACCEPTED),
    "count_needs_review": _count_images(Image.Status.NEEDS_REVIEW),
    "count_failed": _count_images(Image.Status.FAILED),
    "count_rejected": _count_images(Image.Status.REJECTED),
}


@dataclass(frozen=True)
class BatchCounts:
    total: int
    queued: int
    processing: int
    accepted: int
    needs_review: int
    failed: int
    rejected: int


def counts_of(batch: Batch) -> BatchCounts:
    """The counts of a batch loaded through `batches_for`."""
    return BatchCounts(**{name[len("count_") :]: getattr(batch, name) for name in BATCH_COUNTS})


def facility_for(facilities: FacilityScope, slug: str) -> Facility:
    return get_object_or_404(Facility.objects.filter(pk__in=facilities), slug=slug)


def batches_for(facilities: FacilityScope) -> QuerySet[Batch]:
    return (
        Batch.objects.filter(facility__in=facilities)
        .select_related("facility")
        .annotate(**BATCH_COUNTS)
        .order_by("-created_at", "-pk")
    )


def batch_for(facilities: FacilityScope, batch_id: object) -> Batch:
    """The access helper: the caller's batch with its counts, or 404."""
    try:
        pk = uuid.UUID(str(batch_id))
    except ValueError:
        raise Http404("Batch not found.") from None
    return get_object_or_404(batches_for(facilities), pk=pk)


def filter_batches(
    batches: QuerySet[Batch],
    *,
    facility: str | None = None,
    status: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Batch]:
    if facility:
        batches = batches.filter(facility__slug=facility)
    if status:
        batches = batches.filter(status=status)
    if created_after:
        batches = batches.filter(created_at__gte=created_after)
    if created_before:
        batches = batches.filter(created_at__lt=created_before)
    return batches


def images_of(batch: Batch, status: str | None = None) -> QuerySet[Image]:
    """A batch's images in upload order with what their representation needs, in a constant
    number of queries."""
    images = (
        batch.images.select_related("model_version", "reviewed_by", "policy", "review_task")
        .prefetch_related("detections")
        .order_by("position")
    )
    return images.filter(status=status) if status else images


def pending_image_count() -> int:
    """Images not yet in a terminal state, across all facilities (overload protection)."""
    return Image.objects.exclude(status__in=Image.TERMINAL).count()


@dataclass(frozen=True)
class ResultRow:
    """One detection of an image, or the image alone when it has none."""

    image_id: str
    position: int
    original_name: str
    status: str
    reason: str
    multi_frame: bool = False
    # Where the thresholds that routed the image came from (blank before validation) and
    # whether they rest on labelled data.
    thresholds: str = ""
    calibrated: bool | None = None
    class_id: int | None = None
    class_name: str = ""
    confidence: float | None = None
    accepted: bool | None = None
    box: list[float] | None = None


def result_rows(batch: Batch) -> Iterator[ResultRow]:
    for image in images_of(batch):
        yield from _image_rows(image)


def _image_rows(image: Image) -> Iterator[ResultRow]:
    row = ResultRow(
        image_id=str(image.id),
        position=image.position,
        original_name=image.original_name,
        status=image.status,
        reason=image.reason,
        multi_frame=image.multi_frame,
        thresholds=image.threshold_source,
        calibrated=image.thresholds_calibrated,
    )
    detections = image.final_detections()
    if not detections:
        yield row
    for detection in detections:
        yield replace(
            row,
            class_id=detection.class_id,
            class_name=detection.class_name,
            confidence=detection.confidence,
            accepted=detection.accepted,
            box=detection.as_box(),
        )


def refused_uploads(batch: Batch) -> list[Image]:
    """The files refused on their own at upload (a per-file limit): failed, nothing stored."""
    return list(
        batch.images.filter(
            status=Image.Status.FAILED, reason__in=PER_FILE_LIMIT_REASONS, storage_key=""
        ).order_by("position")
    )


@dataclass(frozen=True)
class CurrentThresholds:
    """What routes a facility's images now: the active model's thresholds, from the facility's
    policy version (`policy`) or, without one, from the model's registration."""

    facility: Facility
    model: ModelVersion
    source: str
    calibrated: bool
    rules: Policy
    policy: ThresholdPolicy | None

    @property
    def note(self) -> str:
        return self.policy.note if self.policy else self.model.threshold_note

    @property
    def created_by(self) -> str:
        return self.policy.created_by if self.policy else "model registration"

    @property
    def created_at(self) -> datetime:
        return self.policy.created_at if self.policy else self.model.created_at


def current_thresholds(facility: Facility) -> CurrentThresholds | None:
    """None when the facility has no active model."""
    model = facility.active_model
    if model is None:
        return None
    applied = policy_for(facility.pk, model.pk)
    policy = (
        ThresholdPolicy.objects.filter(pk=applied.policy_id).first()
        if applied.policy_id is not None
        else None
    )
    return CurrentThresholds(
        facility, model, applied.source, applied.calibrated, applied.rules, policy
    )


def policy_versions(facility: Facility) -> QuerySet[ThresholdPolicy]:
    """Every policy version of a facility, newest first (the audit trail of its thresholds)."""
    return (
        ThresholdPolicy.objects.filter(facility=facility)
        .select_related("model_version")
        .order_by("-created_at", "-pk")
    )
