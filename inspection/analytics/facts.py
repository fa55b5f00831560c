"""What the rollups keep, computed from the raw rows for a facility and a range of whole hours,
grouped by hour and camera (`Batch.camera`): the model's boxes per model version and class
(count, confidence sum, histogram), latency histograms, and review overrides per class (through
the review statistics' own `override_by_class`). Used to seal hours and, for the hours not
sealed yet, on each request."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db.models import Count, F, FloatField, Q, QuerySet, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Floor, Greatest, Least, Ln, TruncHour

from inspection.analytics import histogram
from inspection.analytics.models import CONFIDENCE_BINS, bin_field
from inspection.models import Detection, Facility, Image, ReviewDecision
from inspection.review.selectors import decisions_since, override_by_class

# Images a model's boxes were routed for; failed ones (which a replay may take back) are not.
VALIDATED = (Image.Status.ACCEPTED, Image.Status.NEEDS_REVIEW, Image.Status.REJECTED)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Range:
    """Whole hours [start, end) of one facility, optionally of one camera."""

    facility_id: int
    start: datetime
    end: datetime
    camera: str | None = None


@dataclass
class ConfidenceFact:
    hour: datetime
    camera: str | None
    model_version_id: int
    class_name: str
    boxes: int = 0
    confidence_sum: float = 0.0
    bins: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BINS)

    def row(self) -> dict[str, Any]:
        """As ConfidenceHour's fields."""
        fields = {name: value for name, value in vars(self).items() if name != "bins"}
        return {**fields, **{bin_field(i): n for i, n in enumerate(self.bins)}}

    def key(self) -> tuple:
        return (self.hour, self.model_version_id, self.class_name)

    def plus(self, other: ConfidenceFact) -> ConfidenceFact:
        bins = [a + b for a, b in zip(self.bins, other.bins, strict=True)]
        boxes, total = self.boxes + other.boxes, self.confidence_sum + other.confidence_sum
        return replace(self, boxes=boxes, confidence_sum=total, bins=bins)


@dataclass
class LatencyFact:
    hour: datetime
    camera: str | None
    images: int = 0
    total_ms: histogram.Histogram = field(default_factory=dict)
    queue_wait_ms: histogram.Histogram = field(default_factory=dict)

    def key(self) -> tuple:
        return (self.hour,)

    def plus(self, other: LatencyFact) -> LatencyFact:
        return replace(
            self,
            images=self.images + other.images,
            total_ms=histogram.plus(self.total_ms, other.total_ms),
            queue_wait_ms=histogram.plus(self.queue_wait_ms, other.queue_wait_ms),
        )


@dataclass(frozen=True)
class OverrideFact:
    hour: datetime
    camera: str | None
    class_name: str
    decisions: int
    overridden: int

    def key(self) -> tuple:
        return (self.hour, self.class_name)

    def plus(self, other: OverrideFact) -> OverrideFact:
        decisions, overridden = self.decisions + other.decisions, self.overridden + other.overridden
        return replace(self, decisions=decisions, overridden=overridden)


Fact = TypeVar("Fact", ConfidenceFact, LatencyFact, OverrideFact)


def all_cameras(facts: list[Fact]) -> list[Fact]:
    """The facts summed over cameras, as rows of camera None (every count adds up: an image,
    box or decision belongs to one camera)."""
    merged: dict[tuple, Fact] = {}
    for fact in facts:
        key = fact.key()
        merged[key] = merged[key].plus(fact) if key in merged else replace(fact, camera=None)
    return list(merged.values())


def _decided_images(scope: Range) -> QuerySet[Image]:
    images = Image.objects.filter(
        facility_id=scope.facility_id, finished_at__gte=scope.start, finished_at__lt=scope.end
    )
    return images if scope.camera is None else images.filter(batch__camera=scope.camera)


def confidence_facts(scope: Range) -> list[ConfidenceFact]:
    boxes = Detection.objects.filter(
        image__in=_decided_images(scope).filter(status__in=VALIDATED),
        source=Detection.Source.MODEL,
        confidence__isnull=False,
    )
    top = CONFIDENCE_BINS - 1  # a confidence of exactly 1.0 belongs to the last bin
    rows = (
        boxes.annotate(
            hour=TruncHour("image__finished_at"),
            camera=F("image__batch__camera"),
            bin=Least(Floor(F("confidence") * CONFIDENCE_BINS), Value(top, FloatField())),
        )
        .values_list("hour", "camera", "model_version_id", "class_name", "bin")
        .annotate(n=Count("id"), total=Sum("confidence"))
        .order_by()
    )
    facts: dict[tuple, ConfidenceFact] = {}
    for hour, camera, model_id, name, index, n, total in rows:
        fact = facts.setdefault(
            (hour, camera, model_id, name), ConfidenceFact(hour, camera, model_id, name)
        )
        fact.boxes += n
        fact.confidence_sum += total
        fact.bins[int(index)] += n
    return list(facts.values())


def latency_facts(scope: Range) -> list[LatencyFact]:
    images = _decided_images(scope).filter(timings__has_key="total_ms")
    facts: dict[tuple, LatencyFact] = {}
    for key in ("total_ms", "queue_wait_ms"):
        for hour, camera, index, n in _log_buckets(images, key):
            fact = facts.setdefault((hour, camera), LatencyFact(hour, camera))
            getattr(fact, key)[str(int(index))] = n
            if key == "total_ms":
                fact.images += n
    return list(facts.values())


def _log_buckets(images: QuerySet[Image], key: str) -> QuerySet:
    milliseconds = Cast(KeyTextTransform(key, "timings"), FloatField())
    one, growth = Value(1.0, FloatField()), Value(histogram.LOG_GROWTH, FloatField())
    index = Floor(Ln(Greatest(milliseconds, one)) / growth)
    return (
        images.filter(**{f"timings__{key}__isnull": False})
        .annotate(hour=TruncHour("finished_at"), camera=F("batch__camera"), index=index)
        .values_list("hour", "camera", "index")
        .annotate(n=Count("id"))
        .order_by()
    )


def override_facts(scope: Range) -> list[OverrideFact]:
    """Per hour and camera that had decisions, `override_by_class` over exactly them."""
    facility = Facility.objects.filter(pk=scope.facility_id)
    decisions = decisions_since(facility, scope.start).filter(decided_at__lt=scope.end)
    if scope.camera is not None:
        decisions = decisions.filter(image__batch__camera=scope.camera)
    return [
        OverrideFact(hour, camera, row.class_name, row.decisions, row.overridden)
        for hour, camera in _hours_with_decisions(decisions)
        for row in override_by_class(_of_hour(decisions, hour, camera))
    ]


def _hours_with_decisions(decisions: QuerySet[ReviewDecision]) -> list[tuple[datetime, str]]:
    groups = decisions.annotate(hour=TruncHour("decided_at"), camera=F("image__batch__camera"))
    return list(groups.values_list("hour", "camera").order_by().distinct())


def _of_hour(
    decisions: QuerySet[ReviewDecision], hour: datetime, camera: str
) -> QuerySet[ReviewDecision]:
    return decisions.filter(
        Q(image__batch__camera=camera), decided_at__gte=hour, decided_at__lt=hour + HOUR
    )
