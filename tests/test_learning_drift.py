"""The drift guard: the statistic, the periodic check opening alerts on a real database, the
routing of an alerted class to review at a facility that opted in, and the gauges."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError
from django.utils import timezone

from inspection.learning import drift, drift_stats
from inspection.learning.drift_alerts import AlertAlreadyAcknowledged, acknowledge
from inspection.learning.drift_gauges import drift_gauges
from inspection.models import DriftAlert, DriftMeasure, Facility, Image
from inspection.pipeline.policies import AppliedPolicy
from inspection.review.thresholds import reason_text
from inspection.validation import Candidate, Policy, decide
from tasks.learning import check_drift
from tests.analytics_support import Site
from tests.api_support import make_batch
from tests.drift_support import boxes_at, open_alert, spread
from tests.learning_support import add_boxes
from tests.review_support import parcel_model

SURE = ((0, 0.93, [20.0, 30.0, 120.0, 150.0]),)  # a parcel well above its 0.5 threshold
SURE_LABEL = ((1, 0.93, [20.0, 30.0, 120.0, 150.0]),)


# --- the statistic ------------------------------------------------------------------------------


def histogram(values: list[float]) -> list[int]:
    counts = [0] * 20
    for value in values:
        counts[min(int(value * 20), 19)] += 1
    return counts


def confidences(rng: random.Random, count: int, shift: float = 0.0) -> list[float]:
    return [min(max(rng.betavariate(8, 2) - shift, 0.0), 0.9999) for _ in range(count)]


def test_psi_of_samples_of_one_distribution_stays_under_the_moderate_band() -> None:
    rng = random.Random(4)
    values = [
        drift_stats.psi(histogram(confidences(rng, 500)), histogram(confidences(rng, 500)))
        for _ in range(200)
    ]
    assert max(values) < drift_stats.PSI_MODERATE * 1.5
    assert sum(values) / len(values) < 0.07


@pytest.mark.parametrize("shift", [0.05, 0.1, 0.2])
def test_psi_of_a_shifted_distribution_crosses_the_cutoff(shift: float) -> None:
    rng = random.Random(5)
    for _ in range(50):
        before = histogram(confidences(rng, 500))
        after = histogram(confidences(rng, 500, shift))
        assert drift_stats.psi(before, after) > drift_stats.PSI_CUTOFF


def test_psi_is_zero_for_equal_histograms_and_needs_the_same_bins() -> None:
    counts = histogram([0.9] * 300 + [0.7] * 300)
    assert drift_stats.psi(counts, counts) == 0.0
    with pytest.raises(ValueError, match="bins differ: 20 reference, 10 recent"):
        drift_stats.psi(counts, counts[:10])


def test_too_few_boxes_on_either_side_are_not_compared() -> None:
    many, few = [0] * 19 + [drift_stats.MIN_BOXES], [0] * 19 + [drift_stats.MIN_BOXES - 1]
    assert drift_stats.comparable(many, many)
    assert not drift_stats.comparable(many, few) and not drift_stats.comparable(few, many)


# --- the periodic check -------------------------------------------------------------------------


@pytest.fixture
def site(facility: Facility) -> Site:
    """The facility's images go back before the reference window."""
    Facility.objects.filter(pk=facility.pk).update(created_at=timezone.now() - timedelta(days=60))
    return Site.of(facility)


def reference_and_recent(site: Site, recent: list[float], camera: str = "dock-1") -> None:
    """The model's first week here (its registration thresholds' reference) ten days ago, with
    parcels between 0.80 and 0.99; `recent` parcels two hours ago."""
    now = timezone.now()
    boxes_at(site, now - timedelta(days=10), "parcel", spread(0.80, 0.99, 600))
    boxes_at(site, now - timedelta(hours=2), "parcel", recent, camera)


@pytest.mark.django_db
def test_the_beat_task_opens_a_drift_alert_when_the_confidences_move(site: Site) -> None:
    reference_and_recent(site, spread(0.55, 0.75, 600))

    assert check_drift() == 1

    alert = DriftAlert.objects.get()
    assert (alert.facility_id, alert.model_version_id) == (site.facility.pk, site.model.pk)
    assert (alert.class_name, alert.kind, alert.camera) == ("parcel", "drift", None)
    assert alert.statistic > drift_stats.PSI_CUTOFF and alert.cutoff == drift_stats.PSI_CUTOFF
    assert alert.is_open and "600 boxes vs 600" in alert.detail
    measure = DriftMeasure.objects.get(camera=None, class_name="parcel")
    assert (measure.recent_boxes, measure.reference_boxes) == (600, 600)
    assert measure.psi == pytest.approx(alert.statistic)
    assert check_drift() == 0  # the same finding refreshes the open alert
    assert DriftAlert.objects.count() == 1


@pytest.mark.django_db
def test_the_same_distribution_opens_nothing_and_records_a_small_psi(site: Site) -> None:
    reference_and_recent(site, spread(0.80, 0.99, 600, step=7))

    assert drift.check_all() == 0

    assert not DriftAlert.objects.exists()
    measure = DriftMeasure.objects.get(camera=None, class_name="parcel")
    assert measure.psi is not None and measure.psi < 0.01


@pytest.mark.django_db
def test_too_few_recent_boxes_record_no_psi_and_open_nothing(site: Site) -> None:
    reference_and_recent(site, spread(0.55, 0.75, drift_stats.MIN_BOXES - 10))

    assert drift.check_all() == 0

    measure = DriftMeasure.objects.get(camera=None, class_name="parcel")
    assert measure.psi is None and measure.recent_boxes == drift_stats.MIN_BOXES - 10


@pytest.mark.django_db
def test_one_camera_that_drifts_gets_its_own_alert(site: Site) -> None:
    reference_and_recent(site, spread(0.80, 0.99, 600, step=3))
    boxes_at(site, timezone.now() - timedelta(hours=3), "parcel", spread(0.3, 0.5, 600), "dock-9")
    boxes_at(site, timezone.now() - timedelta(days=10), "parcel", spread(0.8, 0.99, 600), "dock-9")

    drift.check_all()

    cameras = set(DriftAlert.objects.values_list("camera", "class_name"))
    assert ("dock-9", "parcel") in cameras and ("dock-1", "parcel") not in cameras
    calm = DriftMeasure.objects.filter(camera="dock-1").get().psi
    assert calm is not None and calm < drift_stats.PSI_CUTOFF


@pytest.mark.django_db
def test_an_acknowledged_alert_stays_quiet_for_the_same_thresholds(site: Site) -> None:
    reference_and_recent(site, spread(0.55, 0.75, 600))
    drift.check_all()
    alert = acknowledge(DriftAlert.objects.get(), "thresholds page ada")

    assert drift.check_all() == 0
    alert.refresh_from_db()
    assert not alert.is_open and alert.acknowledged_by == "thresholds page ada"
    with pytest.raises(AlertAlreadyAcknowledged, match="already acknowledged by thresholds page"):
        acknowledge(alert, "api key other")


@pytest.mark.django_db
def test_a_measure_the_check_no_longer_makes_leaves_the_gauges(site: Site) -> None:
    reference_and_recent(site, spread(0.80, 0.99, 600, step=3))
    boxes_at(site, timezone.now() - timedelta(hours=3), "parcel", spread(0.8, 0.99, 600), "dock-9")
    drift.check_all()
    assert DriftMeasure.objects.filter(camera="dock-9").exists()

    later = timezone.now() + timedelta(hours=30)  # dock-9 sent nothing in the last 24 hours
    drift.check_all(later)

    assert set(DriftMeasure.objects.values_list("camera", flat=True)) == {None}


@pytest.mark.django_db
def test_one_facility_failing_does_not_stop_the_others(
    facility: Facility, other_facility: Facility, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def check(checked: Facility, now: Any) -> int:
        if checked.pk == facility.pk:
            raise DatabaseError("statement timeout")
        return 1

    monkeypatch.setattr(drift, "check_facility", check)

    assert drift.check_all() == 1
    assert "drift check of dc-north failed" in caplog.text


# --- routing to review while an alert is open ---------------------------------------------------


def test_a_watched_class_sends_the_image_to_review_whatever_its_confidence() -> None:
    boxes = [Candidate("parcel", 0.97), Candidate("label", 0.95), Candidate("damage", 0.05)]

    decision = decide(boxes, [], Policy(), watched={"parcel", "damage"})

    # damage at 0.05 is noise (below min_confidence): dropped, so it routes nothing.
    assert (decision.status, decision.reasons) == ("needs_review", ["drift:parcel"])
    assert decision.accepted == {0: True, 1: True}  # the boxes still pass their thresholds
    assert decide(boxes, [], Policy()).status == "accepted"


def test_the_reviewer_reads_why_in_words() -> None:
    text = reason_text("drift:parcel", AppliedPolicy(Policy(), "manual"))
    assert text == "Drift alert on parcel: its images are reviewed until an admin acknowledges it"


def validated(facility: Facility, boxes: Any, camera: str = "") -> list[Image]:
    """A batch of two images with `boxes`, validated."""
    from inspection.pipeline.validate import validate_image

    batch = make_batch(facility, [Image.Status.INFERRED] * 2, camera=camera)
    batch.images.update(model_version=parcel_model(), width=320, height=240)
    for image in batch.images.all():
        add_boxes(image, boxes)
    while validate_image(batch.images.first().pk):  # type: ignore[union-attr]
        pass
    return list(batch.images.order_by("position"))


def opted_in(facility: Facility) -> Facility:
    facility.drift_routes_to_review = True
    facility.audit_share = 0.0
    facility.save()
    return facility


@pytest.mark.django_db
def test_an_open_alert_routes_its_class_to_review_until_acknowledged(facility: Facility) -> None:
    alert = open_alert(opted_in(facility), parcel_model(), "parcel")

    routed = validated(facility, SURE)
    assert {(i.status, tuple(i.review_reasons)) for i in routed} == {
        ("needs_review", ("drift:parcel",))
    }
    assert all(i.review_task.reasons == ["drift:parcel"] for i in routed)  # the reviewer sees why
    assert {i.status for i in validated(facility, SURE_LABEL)} == {"accepted"}  # other classes

    acknowledge(alert, "thresholds page ada")
    assert {i.status for i in validated(facility, SURE)} == {"accepted"}


@pytest.mark.django_db
def test_a_facility_that_did_not_opt_in_is_not_rerouted(facility: Facility) -> None:
    facility.audit_share = 0.0
    facility.save()
    open_alert(facility, parcel_model(), "parcel")

    assert {i.status for i in validated(facility, SURE)} == {"accepted"}


@pytest.mark.django_db
def test_a_camera_alert_routes_that_camera_only(facility: Facility) -> None:
    open_alert(opted_in(facility), parcel_model(), "parcel", camera="dock-9")

    assert {i.status for i in validated(facility, SURE, camera="dock-9")} == {"needs_review"}
    assert {i.status for i in validated(facility, SURE, camera="dock-1")} == {"accepted"}


@pytest.mark.django_db
def test_another_facilitys_alert_routes_nothing_here(
    facility: Facility, other_facility: Facility
) -> None:
    opted_in(facility)
    open_alert(opted_in(other_facility), parcel_model(), "parcel")

    assert {i.status for i in validated(facility, SURE)} == {"accepted"}


# --- gauges -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_gauges_show_the_psi_and_the_open_alerts(facility: Facility) -> None:
    model = parcel_model()
    DriftMeasure.objects.create(
        facility=facility, model_version=model, class_name="parcel", psi=0.31,
        recent_boxes=600, reference_boxes=700,
    )  # fmt: skip
    open_alert(facility, model, "parcel", camera="dock-2")
    acknowledge(open_alert(facility, model, "label"), "someone")

    metrics = {metric.name: metric.samples for metric in drift_gauges()}

    [psi] = metrics["inspection_drift_psi"]
    assert psi.value == 0.31
    assert psi.labels == {
        "facility": "dc-north", "camera": "*", "model": "parcels:1", "class_name": "parcel"
    }  # fmt: skip
    [open_] = metrics["inspection_drift_alert_open"]
    assert open_.value == 1.0
    assert (open_.labels["camera"], open_.labels["class_name"], open_.labels["kind"]) == (
        "dock-2", "parcel", "drift"
    )  # fmt: skip
