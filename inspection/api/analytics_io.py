"""Input and output serializers of the analytics endpoints (`inspection.api.analytics`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inspection.analytics.window import DEFAULT_PERIOD, PERIOD_PATTERN

FORMATS = ("json", "csv")


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\x00]*$"})
class CameraField(serializers.CharField):
    """As a batch names it (`camera` of the submission), matched exactly."""


class AnalyticsInput(serializers.Serializer):
    facility = serializers.SlugField(
        max_length=64,
        required=False,
        help_text="A facility of yours (slug); all of them when left out.",
    )
    camera = CameraField(
        max_length=100,
        required=False,
        trim_whitespace=False,
        help_text="Only images of batches sent with this `camera`; every camera when left out.",
    )
    period = serializers.RegexField(
        PERIOD_PATTERN,
        required=False,
        default=DEFAULT_PERIOD,
        help_text="How far back from `until`: `24h`, `7d`, `30d`, or any `<N>h` / `<N>d` "
        "(N up to 999). Up to 7 days in hourly buckets, longer in daily ones (UTC); the "
        "window starts on a bucket boundary.",
    )
    until = serializers.DateTimeField(required=False, help_text="End of the window (default: now).")
    format = serializers.ChoiceField(
        choices=FORMATS,
        required=False,
        default="json",
        help_text="`csv` for a spreadsheet: a row per bucket (or per class and bin).",
    )


@extend_schema_field({"type": "number", "nullable": True})
class NumberField(serializers.Field):
    """An int or a float as it is (a count stays an integer); null where there is no value."""

    def to_representation(self, value: Any) -> Any:
        return value


class ScopeOutput(serializers.Serializer):
    facilities = serializers.SerializerMethodField(help_text="Slugs of the facilities counted.")
    camera = serializers.CharField(allow_null=True)
    period = serializers.CharField(source="window.period")
    bucket = serializers.ChoiceField(choices=["hour", "day"], source="window.bucket")
    since = serializers.DateTimeField(source="window.since")
    until = serializers.DateTimeField(source="window.until")

    def get_facilities(self, scope: Any) -> list[str]:
        return [facility.slug for facility in scope.facilities]


class SeriesOutput(serializers.Serializer):
    key = serializers.CharField()
    # An API field named like an attribute of DRF's Field; DRF's serializer metaclass takes
    # declared fields off the class, so nothing is shadowed (the stubs cannot know that).
    label = serializers.CharField()  # type: ignore[assignment]
    unit = serializers.CharField(help_text="`images`, `ms`, `tasks`, `hours`, `ratio`, ...")
    values = serializers.ListField(child=NumberField(), help_text="One per bucket, in order.")


class ChartOutput(serializers.Serializer):
    chart = serializers.CharField()
    title = serializers.CharField()
    scope = ScopeOutput()
    empty = serializers.CharField(
        allow_null=True, help_text="Why there is nothing to draw; null when there is data."
    )
    note = serializers.CharField(help_text="How the numbers were made, where not obvious.")


class TimeSeriesOutput(ChartOutput):
    buckets = serializers.ListField(
        child=serializers.DateTimeField(), help_text="Start of each bucket (UTC)."
    )
    series = SeriesOutput(many=True)


class ThresholdOutput(serializers.Serializer):
    facility = serializers.CharField()
    value = serializers.FloatField(
        allow_null=True, help_text="null: no thresholds, every image goes to review."
    )
    # An API field named like an attribute of DRF's Field; DRF's serializer metaclass takes
    # declared fields off the class, so nothing is shadowed (the stubs cannot know that).
    source = serializers.CharField(help_text="`calibrated`, `manual`, `uniform`, `review_all`.")  # type: ignore[assignment]


class ClassDistributionOutput(serializers.Serializer):
    class_name = serializers.CharField()
    current = serializers.ListField(
        child=serializers.IntegerField(), help_text="Boxes per bin in the window."
    )
    reference = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Boxes per bin in the period the thresholds were set on.",
    )
    thresholds = ThresholdOutput(many=True)


class ReferenceWindowOutput(serializers.Serializer):
    facility = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    rule = serializers.CharField(help_text="Which period, in words.")


class DistributionsOutput(ChartOutput):
    edges = serializers.ListField(
        child=serializers.FloatField(), help_text="Bin edges: bin i is [edges[i], edges[i+1])."
    )
    classes = ClassDistributionOutput(many=True)
    references = ReferenceWindowOutput(many=True)
