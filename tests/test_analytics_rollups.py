"""The hourly rollups behind latency, confidence and overrides: an hour is sealed once it ended
SEAL_MARGIN ago, its facts are what the raw rows say, stored once (a second seal, or two at the
same time, adds nothing), per camera and for all cameras together; hours not sealed yet are read
from the raw rows; nothing before the facility existed is sealed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import models
from django.utils import timezone

from inspection.analytics import facts as f
from inspection.analytics import latency, rollups
from inspection.analytics.models import (
    ConfidenceHour,
    LatencyHour,
    OverrideHour,
    RolledUpHour,
    bin_field,
)
from inspection.analytics.window import Bucket, floor_to
from inspection.models import Facility, ReviewDecision
from tests.analytics_support import HOUR, Site, decide, hours_ago, scope_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(facility: Facility) -> Site:
    Facility.objects.filter(pk=facility.pk).update(created_at=timezone.now() - timedelta(days=2))
    return Site.of(facility)


def history(site: Site) -> None:
    """Two cameras, three hours ago: boxes, latencies and a corrected decision."""
    at = floor_to(hours_ago(3), Bucket.HOUR) + timedelta(minutes=10)
    site.image(at, camera="dock-1", total_ms=300, boxes=(("parcel", 0.91), ("label", 0.33)))
    site.image(at, camera="dock-2", total_ms=900, boxes=(("parcel", 0.55),))
    image = site.image(at, camera="dock-2", status="accepted", boxes=(("label", 0.2),))
    task = site.task(image, at, at + timedelta(minutes=5))
    decide(task, at + timedelta(minutes=5), ReviewDecision.Action.CORRECT, ("label",), ())


def assert_sealed_as(
    model: type[models.Model], facts: list[f.Fact], facility: Facility, hour: datetime
) -> None:
    """The hour's rows: one per camera's fact, and their sums over cameras."""
    stored = model._default_manager.filter(facility=facility, hour=hour)
    assert stored.filter(camera__isnull=False).count() == len(facts) > 0, model.__name__
    assert stored.filter(camera__isnull=True).count() == len(f.all_cameras(facts))


def test_sealed_hours_hold_what_the_raw_rows_say(site: Site) -> None:
    history(site)
    now = timezone.now()
    sealed = rollups.seal([site.facility.pk], now - timedelta(hours=24), now)
    hour = floor_to(hours_ago(3), Bucket.HOUR)
    limit = rollups.sealed_until()
    assert RolledUpHour.objects.filter(facility=site.facility, hour__gte=limit).count() == 0
    assert sealed == RolledUpHour.objects.filter(facility=site.facility).count()
    assert sealed == int((limit - floor_to(now - timedelta(hours=24), Bucket.HOUR)) / HOUR)

    one = f.Range(site.facility.pk, hour, hour + HOUR)
    assert_sealed_as(ConfidenceHour, f.confidence_facts(one), site.facility, hour)
    assert_sealed_as(LatencyHour, f.latency_facts(one), site.facility, hour)
    assert_sealed_as(OverrideHour, f.override_facts(one), site.facility, hour)

    parcel = ConfidenceHour.objects.get(hour=hour, camera__isnull=True, class_name="parcel")
    assert (parcel.boxes, round(parcel.confidence_sum, 4)) == (2, 1.46)
    assert (getattr(parcel, bin_field(18)), getattr(parcel, bin_field(11))) == (1, 1)
    dock_2 = LatencyHour.objects.get(hour=hour, camera="dock-2")
    assert dock_2.images == 2
    label = OverrideHour.objects.get(hour=hour, camera__isnull=True, class_name="label")
    assert (label.decisions, label.overridden) == (1, 1)


def test_sealing_again_or_twice_at_once_adds_nothing(site: Site) -> None:
    history(site)
    now = timezone.now()
    rollups.seal([site.facility.pk], now - timedelta(hours=24), now)
    counts = [m.objects.count() for m in (RolledUpHour, ConfidenceHour, LatencyHour, OverrideHour)]
    assert rollups.seal([site.facility.pk], now - timedelta(hours=24), now) == 0
    hour = floor_to(hours_ago(3), Bucket.HOUR)
    # A request that found the hour missing just before another sealed it writes it again.
    rollups._seal_range(f.Range(site.facility.pk, hour, hour + HOUR))
    again = [m.objects.count() for m in (RolledUpHour, ConfidenceHour, LatencyHour, OverrideHour)]
    assert again == counts


def test_nothing_before_the_facility_existed_is_sealed(site: Site) -> None:
    now = timezone.now()
    rollups.seal([site.facility.pk], now - timedelta(days=30), now)
    first = RolledUpHour.objects.order_by("hour").first()
    assert first is not None
    assert first.hour == floor_to(site.facility.created_at, Bucket.HOUR)


def test_an_image_decided_after_its_hour_was_read_still_counts(site: Site) -> None:
    """Hours not sealed are computed per request: a new decision shows at once."""
    before = latency.latency(scope_of(site.facility))
    assert before.empty is not None
    recent = timezone.now() - timedelta(seconds=30)
    site.image(recent - timedelta(seconds=1), total_ms=1200, finished=recent)
    after = latency.latency(scope_of(site.facility))
    assert after.empty is None
    assert not RolledUpHour.objects.filter(hour=floor_to(recent, Bucket.HOUR)).exists()


def test_all_cameras_rows_add_up_the_cameras(site: Site) -> None:
    history(site)
    now = timezone.now()
    rollups.seal([site.facility.pk], now - timedelta(hours=24), now)
    hour = floor_to(hours_ago(3), Bucket.HOUR)
    cameras = LatencyHour.objects.filter(hour=hour, camera__isnull=False)
    together = LatencyHour.objects.get(hour=hour, camera__isnull=True)
    assert together.images == sum(row.images for row in cameras) == 3
    merged: dict[str, int] = {}
    for row in cameras:
        for index, n in row.total_ms.items():
            merged[index] = merged.get(index, 0) + n
    assert together.total_ms == merged


def test_a_window_ending_within_a_sealed_hour_counts_only_up_to_its_end(site: Site) -> None:
    hour = floor_to(hours_ago(5), Bucket.HOUR)
    site.image(hour + timedelta(minutes=10), total_ms=100, finished=hour + timedelta(minutes=10))
    site.image(hour + timedelta(minutes=50), total_ms=9000, finished=hour + timedelta(minutes=50))
    latency.latency(scope_of(site.facility))  # seals the hour
    assert RolledUpHour.objects.filter(facility=site.facility, hour=hour).exists()
    ending = latency.latency(scope_of(site.facility, until=hour + timedelta(minutes=30)))
    index = ending.buckets.index(hour)
    assert ending.series[1].values[index] == pytest.approx(100, rel=0.03)  # p95 of one image
