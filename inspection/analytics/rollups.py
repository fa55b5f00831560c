"""Reading the rollups: the sealed hours from their tables (sealing the ones still missing
first), the hours not sealed yet straight from the raw rows. Sealing needs no scheduler: each
read seals what became sealable since the last one (an hour or so of rows), and only the first
read over a long history pays for all of it (`fill_history` seals its history itself).

Rows are written with ignore_conflicts on their natural keys, so two requests sealing the same
hour at once only repeat work; neither counts anything twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from inspection.analytics import facts as f
from inspection.analytics.buckets import trunc
from inspection.analytics.models import ConfidenceHour, LatencyHour, OverrideHour, RolledUpHour
from inspection.analytics.window import Bucket, floor_to
from inspection.models import Facility
from inspection.review.undo import UNDO_SECONDS

HOUR = timedelta(hours=1)
# An hour is final once it ended this long ago: validation commits within seconds of writing
# `finished_at`, and whether a decision stands is settled after the undo window.
SEAL_MARGIN = max(timedelta(minutes=5), timedelta(seconds=UNDO_SECONDS + 60))
# Hours sealed in one transaction (and read from the raw tables in one query each).
SEAL_CHUNK = timedelta(days=7)
M = TypeVar("M", bound=models.Model)


def sealed_until(now: datetime | None = None) -> datetime:
    """Hours that start before this are sealable."""
    return floor_to((now or timezone.now()) - SEAL_MARGIN, Bucket.HOUR)


def seal(facility_ids: Iterable[int], since: datetime, until: datetime) -> int:
    """Seal every sealable hour of [since, until) the facilities lived through; returns how many
    were sealed now."""
    limit = min(sealed_until(), until)
    sealed = 0
    for facility in Facility.objects.filter(pk__in=list(facility_ids)).only("pk", "created_at"):
        start = max(floor_to(since, Bucket.HOUR), floor_to(facility.created_at, Bucket.HOUR))
        for first, end in _missing_runs(facility.pk, start, limit):
            _seal_range(f.Range(facility.pk, first, end))
            sealed += int((end - first) / HOUR)
    return sealed


def _missing_runs(facility_id: int, start: datetime, end: datetime) -> Iterator[tuple]:
    """Runs of consecutive unsealed hours in [start, end), each at most SEAL_CHUNK long."""
    if start >= end:
        return
    done = set(
        RolledUpHour.objects.filter(
            facility_id=facility_id, hour__gte=start, hour__lt=end
        ).values_list("hour", flat=True)
    )
    run_start, at = None, start
    while at < end:
        if at in done or (run_start is not None and at - run_start >= SEAL_CHUNK):
            if run_start is not None:
                yield run_start, at
            run_start = None
        if at not in done and run_start is None:
            run_start = at
        at += HOUR
    if run_start is not None:
        yield run_start, end


def _seal_range(scope: f.Range) -> None:
    with transaction.atomic():
        _store_with_totals(ConfidenceHour, scope.facility_id, f.confidence_facts(scope))
        _store_with_totals(LatencyHour, scope.facility_id, f.latency_facts(scope))
        _store_with_totals(OverrideHour, scope.facility_id, f.override_facts(scope))
        hours = int((scope.end - scope.start) / HOUR)
        markers = [
            RolledUpHour(facility_id=scope.facility_id, hour=scope.start + i * HOUR)
            for i in range(hours)
        ]
        RolledUpHour.objects.bulk_create(markers, ignore_conflicts=True)


def _store_with_totals(model: type[models.Model], facility_id: int, facts: list[f.Fact]) -> None:
    """The facts per camera and their sums over cameras."""
    _store(model, facility_id, facts + f.all_cameras(facts))


def _store(model: type[models.Model], facility_id: int, facts: list[Any]) -> None:
    rows = [model(facility_id=facility_id, **_fields(fact)) for fact in facts]
    model._default_manager.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def _fields(fact: Any) -> dict[str, Any]:
    return fact.row() if hasattr(fact, "row") else vars(fact)


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """A window in two parts: the whole hours before `cut` read from the rollups (sealed first),
    the rest computed from the raw rows: the hours not sealed yet, and the part of an hour a
    window ending within it takes."""

    facility_ids: list[int]
    since: datetime
    until: datetime
    camera: str | None
    limit: datetime

    @classmethod
    def of(
        cls, facility_ids: list[int], since: datetime, until: datetime, camera: str | None
    ) -> Split:
        seal(facility_ids, since, until)
        return cls(facility_ids, since, until, camera, sealed_until())

    @property
    def cut(self) -> datetime:
        return min(self.limit, floor_to(self.until, Bucket.HOUR))

    def sealed(self, model: type[M]) -> QuerySet[M]:
        rows = model._default_manager.filter(
            facility_id__in=self.facility_ids, hour__gte=self.since, hour__lt=self.cut
        )
        return (
            rows.filter(camera__isnull=True)
            if self.camera is None
            else rows.filter(camera=self.camera)
        )

    def open_facts(self, compute: Callable[[f.Range], list[f.Fact]]) -> list[tuple[int, f.Fact]]:
        """(facility id, fact) from `cut` to the window's end."""
        start = max(floor_to(self.since, Bucket.HOUR), self.cut)
        if start >= self.until:
            return []
        ranges = [f.Range(pk, start, self.until, self.camera) for pk in self.facility_ids]
        return [
            (scope.facility_id, fact) for scope in ranges for fact in self._facts(compute, scope)
        ]

    def _facts(self, compute: Callable[[f.Range], list[f.Fact]], scope: f.Range) -> list[f.Fact]:
        facts = compute(scope)
        return f.all_cameras(facts) if self.camera is None else facts


def class_sums(
    rows: QuerySet,
    bucket: str,
    fields: tuple[str, str],
    live: Iterable[tuple[datetime, str, float, float]],
) -> dict[str, dict[datetime, list[float]]]:
    """Per class and bucket: the sums of two fields of the sealed rows, plus the open hours'
    (hour, class, first, second)."""
    first, second = fields
    totals: dict[str, dict[datetime, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    grouped = (
        rows.annotate(bucket=trunc("hour", bucket))
        .values_list("bucket", "class_name")
        .annotate(first=Sum(first), second=Sum(second))
        .order_by()
    )
    for start, name, a, b in grouped:
        _add(totals[name][start], a, b)
    for hour, name, a, b in live:
        _add(totals[name][floor_to(hour, bucket)], a, b)
    return totals


def _add(into: list[float], a: float, b: float) -> None:
    into[0] += a
    into[1] += b
