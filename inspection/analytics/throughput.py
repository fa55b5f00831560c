"""Images per bucket by outcome, and failed images per bucket by reason, by the hour or day they
were submitted; read live from the images (the outcome of an image changes when it is
reviewed)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, QuerySet

from inspection.analytics.buckets import in_window, trunc
from inspection.analytics.scope import Scope
from inspection.analytics.series import Series, TimeSeries, aligned
from inspection.models import Image

OUTCOMES: dict[str, str] = {
    Image.Status.ACCEPTED: "Accepted",
    Image.Status.NEEDS_REVIEW: "Needs review",
    Image.Status.FAILED: "Failed",
    Image.Status.REJECTED: "Rejected",
}
IN_PROGRESS = "in_progress"


def _images(scope: Scope) -> QuerySet[Image]:
    # Every status named: the (facility, status, created_at) index is then read as one range
    # per status instead of the whole facility's part of it.
    images = Image.objects.filter(status__in=Image.Status.values)
    return in_window(images, "created_at", scope, "batch__camera")


def images_by_outcome(scope: Scope) -> TimeSeries:
    rows = (
        _images(scope)
        .annotate(bucket=trunc("created_at", scope.window.bucket))
        .values_list("bucket", "status")
        .annotate(n=Count("*"))  # not COUNT(id): the index holds all it needs (index-only scan)
        .order_by()
    )
    counts: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for bucket, status, n in rows:
        counts[status if status in OUTCOMES else IN_PROGRESS][bucket] += n
    empty = None if counts else f"No images were submitted for {scope.describe()}."
    buckets = scope.window.starts()
    labels = {**OUTCOMES, IN_PROGRESS: "In progress"}
    series = [
        Series(key, label, "images", aligned(buckets, counts[key], 0))
        for key, label in labels.items()
    ]
    per = "hour" if scope.window.bucket == "hour" else "day"
    return TimeSeries("throughput", f"Images per {per} by outcome", scope, buckets, series, empty)


def failure_reasons(scope: Scope) -> TimeSeries:
    rows = (
        _images(scope)
        .filter(status=Image.Status.FAILED)
        .annotate(bucket=trunc("created_at", scope.window.bucket))
        .values_list("bucket", "reason")
        .annotate(n=Count("*"))
        .order_by()
    )
    counts: dict[str, dict] = defaultdict(dict)
    for bucket, reason, n in rows:
        counts[reason or "unknown"][bucket] = n
    buckets = scope.window.starts()
    by_total = sorted(counts, key=lambda reason: (-sum(counts[reason].values()), reason))
    series = [
        Series(r, r.replace("_", " "), "images", aligned(buckets, counts[r], 0)) for r in by_total
    ]
    empty = None if counts else f"No image failed for {scope.describe()}."
    return TimeSeries("failures", "Failed images by reason", scope, buckets, series, empty)
