"""The model's confidence per class: the distribution over the window beside the distribution of
the period the active thresholds were set on (`reference`), with each facility's threshold; and
the mean per day as a line. Only the boxes of each facility's active model count (a threshold
belongs to a model), by the hour their image was decided in, from the hourly rollups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any, cast

from django.db.models import Q, Sum

from inspection.analytics import facts as f
from inspection.analytics.models import CONFIDENCE_BINS, ConfidenceHour, bin_field
from inspection.analytics.reference import Reference, reference_for
from inspection.analytics.rollups import Split, class_sums
from inspection.analytics.scope import Scope
from inspection.analytics.series import (
    ClassDistribution,
    Distributions,
    ReferenceWindow,
    Series,
    Threshold,
    TimeSeries,
    aligned,
)
from inspection.analytics.window import trend_window
from inspection.models import Facility, ModelVersion

EDGES = [round(i / CONFIDENCE_BINS, 2) for i in range(CONFIDENCE_BINS + 1)]
BINS = [bin_field(i) for i in range(CONFIDENCE_BINS)]
Pairs = list[tuple[int, int]]  # (facility id, its active model version id)


def _pairs(facilities: list[Facility]) -> Pairs:
    return [(fac.pk, fac.active_model_id) for fac in facilities if fac.active_model_id]


def _of_pairs(pairs: Pairs) -> Q:
    return reduce(or_, (Q(facility_id=fac, model_version_id=model) for fac, model in pairs))


def _live(split: Split, pairs: Pairs) -> list[f.ConfidenceFact]:
    wanted = set(pairs)
    return [
        fact
        for facility_id, fact in split.open_facts(f.confidence_facts)
        if (facility_id, fact.model_version_id) in wanted
    ]


def _bins_by_class(split: Split, pairs: Pairs) -> dict[str, list[int]]:
    sums = {name: Sum(name) for name in BINS}
    rows = split.sealed(ConfidenceHour).filter(_of_pairs(pairs))
    totals: dict[str, list[int]] = defaultdict(lambda: [0] * CONFIDENCE_BINS)
    for row in rows.values("class_name").annotate(**sums).order_by():
        summed = cast(Mapping[str, Any], row)  # typed by values() alone: the sums are unseen
        totals[summed["class_name"]] = [summed[name] for name in BINS]
    for fact in _live(split, pairs):
        totals[fact.class_name] = _plus(totals[fact.class_name], fact.bins)
    return dict(totals)


def _plus(a: list[int], b: list[int]) -> list[int]:
    return [x + y for x, y in zip(a, b, strict=True)]


def distribution(scope: Scope) -> Distributions:
    pairs = _pairs(scope.facilities)
    window = scope.window
    current: dict[str, list[int]] = {}
    if pairs:
        split = Split.of([fac for fac, _ in pairs], window.since, window.until, scope.camera)
        current = _bins_by_class(split, pairs)
    references = [ref for fac in scope.facilities if (ref := reference_for(fac)) is not None]
    reference = _reference_bins(references, scope.camera)
    names = _class_order(pairs, {*current, *reference})
    zeros = [0] * CONFIDENCE_BINS
    classes = [
        ClassDistribution(
            name,
            current.get(name, zeros),
            reference.get(name, zeros),
            [_threshold(ref, name) for ref in references],
        )
        for name in names
    ]
    title = "Confidence per class, with the thresholds"
    windows = [ReferenceWindow(r.facility.slug, r.since, r.until, r.rule) for r in references]
    empty = _empty_distribution(scope, pairs, current)
    return Distributions("confidence", title, scope, EDGES, classes, windows, empty)


def class_bins(
    facility_id: int, model_id: int, since: datetime, until: datetime, camera: str | None
) -> dict[str, list[int]]:
    """One facility's boxes of one model per class in each of the EDGES bins, on images decided
    in [since, until), of a camera (None: all). The chart and the drift guard both read this."""
    split = Split.of([facility_id], since, until, camera)
    return _bins_by_class(split, [(facility_id, model_id)])


def _reference_bins(references: list[Reference], camera: str | None) -> dict[str, list[int]]:
    total: dict[str, list[int]] = defaultdict(lambda: [0] * CONFIDENCE_BINS)
    for ref in references:
        if ref.since is None or ref.until is None:
            continue
        bins = class_bins(ref.facility.pk, ref.model_version_id, ref.since, ref.until, camera)
        for name, counts in bins.items():
            total[name] = _plus(total[name], counts)
    return dict(total)


def _threshold(ref: Reference, class_name: str) -> Threshold:
    rules = ref.applied.rules
    value = None if rules.review_all else rules.threshold_for(class_name)
    return Threshold(ref.facility.slug, value, ref.applied.source)


def _class_order(pairs: Pairs, seen: set[str]) -> list[str]:
    """The models' classes in their own order, then any other class seen."""
    models = ModelVersion.objects.filter(pk__in={model for _, model in pairs})
    ordered = [name for model in models.order_by("pk") for name in model.class_names]
    names = list(dict.fromkeys(name for name in ordered if name in seen))
    return names + sorted(seen - set(names))


def _empty_distribution(scope: Scope, pairs: Pairs, current: dict) -> str | None:
    if not pairs:
        return "No facility here has an active model, so no thresholds apply."
    if not any(sum(counts) for counts in current.values()):
        return f"The active model found no boxes on images decided for {scope.describe()}."
    return None


def daily_means(scope: Scope) -> TimeSeries:
    """Mean confidence per class per day (per hour for windows up to 48 hours)."""
    window = trend_window(scope.window)
    pairs = _pairs(scope.facilities)
    sums: dict[str, dict] = {}
    if pairs:
        split = Split.of([fac for fac, _ in pairs], window.since, window.until, scope.camera)
        rows = split.sealed(ConfidenceHour).filter(_of_pairs(pairs))
        live = [(c.hour, c.class_name, c.boxes, c.confidence_sum) for c in _live(split, pairs)]
        sums = class_sums(rows, window.bucket, ("boxes", "confidence_sum"), live)
    buckets = window.starts()
    series = [
        Series(name, name, "confidence", aligned(buckets, _means(sums[name]), None))
        for name in _class_order(pairs, set(sums))
    ]
    per = window.bucket
    empty = None if sums else _empty_distribution(scope, pairs, {})
    title = f"Mean confidence per class per {per}"
    rebucketed = replace(scope, window=window)
    return TimeSeries("confidence_trend", title, rebucketed, buckets, series, empty)


def _means(by_bucket: dict) -> dict:
    return {bucket: round(total / n, 4) for bucket, (n, total) in by_bucket.items() if n}
