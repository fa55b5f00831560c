"""What every chart returns: values per time bucket (one list per series, aligned with the
buckets), or per-class confidence histograms. `empty` says in words why there is nothing to
draw; the API, the CSV download and the page all read these objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from inspection.analytics.scope import Scope

Number = float | int | None


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    unit: str
    values: list[Number]


@dataclass(frozen=True)
class TimeSeries:
    chart: str
    title: str
    scope: Scope
    buckets: list[datetime]
    series: list[Series]
    empty: str | None = None
    # How the numbers were made, in a sentence (where it is not obvious).
    note: str = ""


@dataclass(frozen=True)
class Threshold:
    facility: str
    value: float | None
    source: str


@dataclass(frozen=True)
class ClassDistribution:
    class_name: str
    current: list[int]
    reference: list[int]
    thresholds: list[Threshold]


@dataclass(frozen=True)
class ReferenceWindow:
    facility: str
    since: datetime | None
    until: datetime | None
    rule: str


@dataclass(frozen=True)
class Distributions:
    chart: str
    title: str
    scope: Scope
    edges: list[float]
    classes: list[ClassDistribution]
    references: list[ReferenceWindow] = field(default_factory=list)
    empty: str | None = None
    note: str = ""


def aligned(buckets: list[datetime], values: Mapping[datetime, Number], default: Number) -> list:
    """`values` keyed by bucket start as a list in bucket order, `default` where missing."""
    return [values.get(bucket, default) for bucket in buckets]
