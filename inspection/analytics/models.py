"""Hourly rollups behind the charts whose raw rows are too many to read on every request: the
model's boxes (confidence), latency, and review overrides. Imported by `inspection.models`, so
they belong to the `inspection` app.

An hour of a facility is *sealed* once it ended SEAL_MARGIN ago (`inspection.analytics.hours`):
nothing counted in it can change after that. Images count in the hour they were decided in
(validation writes `finished_at` once; only validated images count, and a replay only takes back
failed ones), review decisions in the hour they were made (after the undo window, whether a
decision stands is settled). A sealed hour's facts are computed once and kept; `RolledUpHour`
marks it sealed (an hour without any traffic too). The hours not sealed yet are computed from the
raw rows on each request (`inspection.analytics.rollups`).

Each hour has a row per camera (`Batch.camera`, blank when the integrator sent none) and a row
for all cameras together (`camera` null), so a chart without a camera filter reads a quarter of
the rows a four-camera site would otherwise need."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

CONFIDENCE_BINS = 20


class RolledUpHour(models.Model):
    facility = models.ForeignKey("inspection.Facility", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["facility", "hour"], name="uniq_rolled_up_hour")
        ]


class ConfidenceHour(models.Model):
    """The model's boxes on images decided in the hour, per camera, model version and class:
    how many, the sum of their confidences (for means), and how many fell in each of
    CONFIDENCE_BINS equal bins from 0 to 1 (`bin_00` ... `bin_19`, added below: columns, so a
    window's histogram is one SUM per bin in SQL)."""

    facility = models.ForeignKey("inspection.Facility", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    camera = models.CharField(max_length=100, blank=True, null=True)
    model_version = models.ForeignKey(
        "inspection.ModelVersion", on_delete=models.CASCADE, related_name="+"
    )
    class_name = models.CharField(max_length=100)
    boxes = models.PositiveIntegerField()
    confidence_sum = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "hour", "camera", "model_version", "class_name"],
                name="uniq_confidence_hour",
                nulls_distinct=False,
            )
        ]


def bin_field(index: int) -> str:
    return f"bin_{index:02d}"


for _index in range(CONFIDENCE_BINS):
    ConfidenceHour.add_to_class(bin_field(_index), models.PositiveIntegerField(default=0))


class LatencyHour(models.Model):
    """Images decided in the hour, per camera: end-to-end and queue-wait milliseconds as sparse
    log-scale histograms (`inspection.analytics.histogram`)."""

    facility = models.ForeignKey("inspection.Facility", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    camera = models.CharField(max_length=100, blank=True, null=True)
    images = models.PositiveIntegerField()
    total_ms = models.JSONField()
    queue_wait_ms = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "hour", "camera"],
                name="uniq_latency_hour",
                nulls_distinct=False,
            )
        ]


class OverrideHour(models.Model):
    """Review decisions of the hour per camera and class, counted by the review statistics' own
    `override_by_class`: accepted decisions that show the class, and those that changed it."""

    facility = models.ForeignKey("inspection.Facility", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    camera = models.CharField(max_length=100, blank=True, null=True)
    class_name = models.CharField(max_length=100)
    decisions = models.PositiveIntegerField()
    overridden = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "hour", "camera", "class_name"],
                name="uniq_override_hour",
                nulls_distinct=False,
            )
        ]
