"""Reads for the analytics page. Every query takes the facility ids the caller may see."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, Min, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.http import Http404
from django.utils import timezone

from inspection.models import (
    Detection,
    Facility,
    Image,
    ReviewDecision,
    ReviewTask,
)
from inspection.review.access import facilities_of

# `rejected` only ever comes from a reviewer; `accepted` includes reviewer-accepted images.
OUTCOMES = Image.TERMINAL
CONFIDENCE_BINS = 10
BACKLOG = (ReviewTask.Status.OPEN, ReviewTask.Status.CLAIMED)


def scope(user: Any, slug: str | None) -> tuple[list[Facility], Facility | None]:
    """The facilities a page shows: all of the user's, or the one asked for (404 if foreign)."""
    visible = list(facilities_of(user))
    if not slug:
        return visible, None
    chosen = next((facility for facility in visible if facility.slug == slug), None)
    if chosen is None:
        raise Http404("no such facility")
    return [chosen], chosen


def _images(facility_ids: list[int], since: datetime) -> QuerySet[Image]:
    return Image.objects.filter(facility_id__in=facility_ids, created_at__gte=since)


def images_per_hour(facility_ids: list[int], since: datetime) -> list[tuple[datetime, int]]:
    rows = (
        _images(facility_ids, since)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by("hour")
    )
    return [(row["hour"], row["n"]) for row in rows]


@dataclass(frozen=True)
class OutcomeRow:
    facility: str
    total: int
    counts: dict[str, int]

    def share(self, status: str) -> float:
        return self.counts.get(status, 0) / self.total if self.total else 0.0


def outcomes(facility_ids: list[int], since: datetime) -> list[OutcomeRow]:
    """Per facility: finished images by outcome (images still in flight are left out)."""
    rows = (
        _images(facility_ids, since)
        .filter(status__in=OUTCOMES)
        .values("facility__slug", "status")
        .annotate(n=Count("id"))
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        counts[row["facility__slug"]][row["status"]] = row["n"]
    return [
        OutcomeRow(slug, sum(by_status.values()), by_status)
        for slug, by_status in sorted(counts.items())
    ]


def failure_reasons(facility_ids: list[int], since: datetime) -> list[tuple[str, int]]:
    rows = (
        _images(facility_ids, since)
        .filter(status=Image.Status.FAILED)
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n", "reason")
    )
    return [(row["reason"] or "unknown", row["n"]) for row in rows]


def _model_detections(facility_ids: list[int], since: datetime) -> QuerySet[Detection]:
    # Boxes a reviewer drew carry no confidence: only the model's count here.
    return Detection.objects.filter(
        image__facility_id__in=facility_ids,
        image__created_at__gte=since,
        confidence__isnull=False,
    )


def confidence_histograms(facility_ids: list[int], since: datetime) -> dict[str, list[int]]:
    """Per class, detections counted in ten equal confidence bins (0-0.1, ..., 0.9-1.0)."""
    bins = {f"b{i}": Count("id", filter=_bin(i)) for i in range(CONFIDENCE_BINS)}
    rows = (
        _model_detections(facility_ids, since)
        .values("class_name")
        .annotate(**bins)
        .order_by("class_name")
    )
    return {row["class_name"]: [row[f"b{i}"] for i in range(CONFIDENCE_BINS)] for row in rows}


def _bin(index: int) -> Q:
    low = index / CONFIDENCE_BINS
    upper = Q(confidence__lt=(index + 1) / CONFIDENCE_BINS)
    if index == CONFIDENCE_BINS - 1:
        upper = Q(confidence__lte=1.0)
    return Q(confidence__gte=low) & upper


def daily_mean_confidence(
    facility_ids: list[int], since: datetime
) -> dict[str, list[tuple[datetime, float]]]:
    """Per class, the mean confidence per day: a shift from one week to the next is drift."""
    rows = (
        _model_detections(facility_ids, since)
        .annotate(day=TruncDay("image__created_at"))
        .values("class_name", "day")
        .annotate(mean=Avg("confidence"))
        .order_by("class_name", "day")
    )
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for row in rows:
        series[row["class_name"]].append((row["day"], float(row["mean"])))
    return dict(series)


@dataclass(frozen=True)
class BacklogRow:
    facility: str
    open: int
    oldest_age_seconds: float


def review_backlog(facility_ids: list[int]) -> list[BacklogRow]:
    now = timezone.now()
    rows = (
        ReviewTask.objects.filter(facility_id__in=facility_ids, status__in=BACKLOG)
        .values("facility__slug")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by("facility__slug")
    )
    return [
        BacklogRow(row["facility__slug"], row["n"], (now - row["oldest"]).total_seconds())
        for row in rows
    ]


@dataclass(frozen=True)
class OverrideRow:
    facility: str
    decisions: int
    changed: int

    @property
    def rate(self) -> float:
        return self.changed / self.decisions if self.decisions else 0.0


def override_rates(facility_ids: list[int], since: datetime) -> list[OverrideRow]:
    """Per facility: review decisions and how many changed the model's answer."""
    rows = (
        ReviewDecision.objects.filter(facility_id__in=facility_ids, decided_at__gte=since)
        .values("facility__slug")
        .annotate(n=Count("id"), changed=Count("id", filter=Q(changed=True)))
        .order_by("facility__slug")
    )
    return [OverrideRow(row["facility__slug"], row["n"], row["changed"]) for row in rows]
