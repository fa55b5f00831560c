"""`manage.py fill_history`: a new facility's history ending now, written with COPY: batches from
four cameras, outcomes in a realistic mix (mostly accepted, about one in ten to review, a few
percent failed with their reasons), the model's boxes routed by the threshold version in force,
review tasks decided by reviewers on shifts (some still waiting), a class whose confidence
sinks over the last days, and every hour of it sealed for the charts. A facility with images is
refused."""

from __future__ import annotations

import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from inspection.analytics import rollups
from inspection.analytics.history.outcomes import Incidents, World, detections
from inspection.analytics.models import RolledUpHour
from inspection.analytics.window import Bucket, floor_to
from inspection.models import (
    Batch,
    Detection,
    Facility,
    Image,
    ReviewDecision,
    ReviewTask,
    ThresholdPolicy,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
IMAGES, DAYS = 3000, 7


@pytest.fixture
def output() -> str:
    out = StringIO()
    call_command(
        "fill_history", "--facility", "dc-hist", "--images", IMAGES, "--days", DAYS, stdout=out
    )
    return out.getvalue()


def test_the_history_ends_now_with_every_image_in_it(output: str) -> None:
    facility = Facility.objects.get(slug="dc-hist")
    images = Image.objects.filter(facility=facility)
    assert images.count() == IMAGES
    assert sum(Batch.objects.filter(facility=facility).values_list("total", flat=True)) == IMAGES
    first, last = images.order_by("created_at").first(), images.order_by("created_at").last()
    assert first and last
    assert timezone.now() - timedelta(days=DAYS, minutes=1) <= first.created_at
    assert last.created_at <= timezone.now()
    cameras = set(Batch.objects.filter(facility=facility).values_list("camera", flat=True))
    assert cameras == {"dock-1", "dock-2", "outbound", "sorter-a"}
    assert "dc-hist: " in output and f"{IMAGES} images" in output


def test_outcomes_are_a_realistic_mix(output: str) -> None:
    counts = dict(Image.objects.values_list("status").annotate(n=Count("id")))
    failed, reviewed = counts.get("failed", 0), ReviewTask.objects.count()
    assert counts["accepted"] > 0.8 * IMAGES
    assert 0.01 * IMAGES <= failed <= 0.06 * IMAGES
    assert 0.05 * IMAGES <= reviewed <= 0.2 * IMAGES
    reasons = set(Image.objects.filter(status="failed").values_list("reason", flat=True))
    assert {"too_dark", "corrupt"} <= reasons and "" not in reasons
    decided = Image.objects.exclude(status="failed")
    assert not decided.filter(finished_at__isnull=True).exists()
    assert Detection.objects.filter(source="model").count() > IMAGES


def test_review_tasks_are_decided_or_still_waiting(output: str) -> None:
    done = ReviewTask.objects.filter(status="done")
    waiting = ReviewTask.objects.exclude(status="done")
    assert done.count() > 0
    assert not done.filter(completed_at__isnull=True).exists()
    assert not waiting.filter(completed_at__isnull=False).exists()
    standing = ReviewDecision.objects.effective()
    assert standing.count() == done.count()
    assert set(standing.values_list("task_id", flat=True)) == set(done.values_list("pk", flat=True))
    undone = ReviewDecision.objects.filter(action="undo")
    assert all(row.undoes is not None for row in undone)
    reviewed = Image.objects.filter(review_task__in=done)
    assert set(reviewed.values_list("status", flat=True)) <= {"accepted", "rejected"}
    assert not reviewed.filter(verdict="").exists()


def test_each_image_is_routed_by_the_version_in_force_then(output: str) -> None:
    facility = Facility.objects.get(slug="dc-hist")
    first, second = ThresholdPolicy.objects.filter(facility=facility).order_by("version")
    assert (first.is_active, second.is_active) == (False, True)
    routed = Image.objects.filter(facility=facility).exclude(status="failed")
    assert not routed.filter(created_at__lt=second.created_at, policy=second).exists()
    assert not routed.filter(created_at__gte=second.created_at, policy=first).exists()
    assert routed.filter(policy=second).exists() and routed.filter(policy=first).exists()


def test_the_rare_class_drifts_down_over_the_last_days() -> None:
    end = timezone.now()
    world = World(["parcel", "label", "damage"], Incidents.before(end), end)
    rng = random.Random(5)

    def mean(name: str, days_before_end: float) -> float:
        at = end - timedelta(days=days_before_end)
        boxes = [b for _ in range(4000) for b in detections(rng, world, at) if b.class_name == name]
        return sum(b.confidence for b in boxes) / len(boxes)

    assert mean("damage", 20) - mean("damage", 0.1) > 0.1
    assert abs(mean("label", 20) - mean("label", 0.1)) < 0.02


def test_every_hour_of_the_history_is_sealed(output: str) -> None:
    facility = Facility.objects.get(slug="dc-hist")
    start = floor_to(facility.created_at, Bucket.HOUR)
    hours = int((rollups.sealed_until() - start) / timedelta(hours=1))
    assert RolledUpHour.objects.filter(facility=facility).count() == hours


def test_a_facility_with_images_is_refused(output: str) -> None:
    with pytest.raises(CommandError, match="^facility 'dc-hist' already has images"):
        call_command("fill_history", "--facility", "dc-hist", "--images", "10", stdout=StringIO())
    assert Image.objects.count() == IMAGES
