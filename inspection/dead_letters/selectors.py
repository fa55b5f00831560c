"""Reads of failed images, shared by the page and the API: always within the caller's
facilities, newest failure first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet

from inspection.models import Facility, Image

FacilityScope = QuerySet[Facility]


@dataclass(frozen=True)
class FailedFilter:
    """What the listing is narrowed to (each blank: no narrowing)."""

    facility: str = ""
    reason: str = ""
    batch: uuid.UUID | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    count: int


def failed_images(facilities: FacilityScope, where: FailedFilter) -> QuerySet[Image]:
    """The failed images of the caller's facilities, narrowed by `where`, with what a row
    shows (batch and camera, facility, model) in the same query."""
    images = Image.objects.filter(status=Image.Status.FAILED, facility__in=facilities)
    if where.facility:
        images = images.filter(facility__slug=where.facility)
    if where.reason:
        images = images.filter(reason=where.reason)
    if where.batch:
        images = images.filter(batch_id=where.batch)
    if where.since:
        images = images.filter(finished_at__gte=where.since)
    return images.select_related("batch", "facility", "model_version").order_by(
        "-finished_at", "-pk"
    )


def counts_by_reason(images: QuerySet[Image]) -> list[ReasonCount]:
    """How many of the images failed for each reason, most first."""
    rows = images.order_by().values("reason").annotate(n=Count("id")).order_by("-n", "reason")
    return [ReasonCount(row["reason"], row["n"]) for row in rows]
