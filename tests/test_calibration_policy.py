"""Saving calibrated thresholds: a new ThresholdPolicy version becomes active, earlier versions
are kept and deactivated, and `calibrate_thresholds --save` goes through that service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inspection.calibration import calibrate
from inspection.calibration.thresholds import ClassThreshold, ReviewLoad
from inspection.models import Facility, ModelVersion, ThresholdPolicy
from inspection.services.policies import ThresholdChange, save_policy_version

pytestmark = pytest.mark.django_db


def calibrated(thresholds: dict[str, float]) -> ThresholdChange:
    return ThresholdChange("calibrated", thresholds)


@pytest.fixture
def model_version(tmp_path: Path) -> ModelVersion:
    weights = tmp_path / "m.pt"
    weights.write_bytes(b"not really weights")
    return ModelVersion.objects.create(
        name="default",
        version="t",
        file_path=str(weights),
        class_names=["parcel", "label", "damage"],
        input_size=416,
        checksum="0" * 64,
    )


def test_first_calibration_creates_version_one(
    facility: Facility,
    model_version: ModelVersion,
) -> None:
    policy = save_policy_version(
        facility, model_version, calibrated({"parcel": 0.4, "damage": 0.2})
    )
    assert (policy.version, policy.is_active) == (1, True)
    assert policy.class_thresholds == {"parcel": 0.4, "damage": 0.2}
    assert policy.min_confidence == 0.1


def test_new_version_is_active_and_the_old_one_kept_inactive(
    facility: Facility,
    model_version: ModelVersion,
) -> None:
    old = ThresholdPolicy.objects.create(
        facility=facility,
        model_version=model_version,
        version=3,
        min_confidence=0.2,
        default_threshold=0.6,
        review_if_no_detections=False,
    )
    new = save_policy_version(facility, model_version, calibrated({"parcel": 0.45}))
    old.refresh_from_db()
    assert (new.version, new.is_active) == (4, True)
    assert old.is_active is False and old.class_thresholds == {}
    carried = (new.min_confidence, new.default_threshold, new.review_if_no_detections)
    assert carried == (0.2, 0.6, False)
    rows = ThresholdPolicy.objects.filter(facility=facility, model_version=model_version)
    assert rows.count() == 2 and rows.filter(is_active=True).get() == new


def test_other_facilities_and_model_agnostic_policies_are_untouched(
    facility: Facility,
    other_facility: Facility,
    model_version: ModelVersion,
) -> None:
    agnostic = ThresholdPolicy.objects.create(facility=facility, model_version=None)
    theirs = ThresholdPolicy.objects.create(facility=other_facility, model_version=model_version)
    save_policy_version(facility, model_version, calibrated({"label": 0.3}))
    untouched = ThresholdPolicy.objects.filter(pk__in=[agnostic.pk, theirs.pk], is_active=True)
    assert untouched.count() == 2


def fake_calibration(*args: Any, **kwargs: Any) -> calibrate.Calibration:
    classes = {
        c: ClassThreshold(c, t, 0.96, 0.9, True, 10, 9, 0.95)
        for c, t in enumerate([0.41, 0.33, 0.27])
    }
    names = ("parcel", "label", "damage")
    return calibrate.Calibration(names, classes, ReviewLoad(0.1, 0.25, 3, 2), 0.1, 8)


@pytest.fixture
def data_yaml(tmp_path: Path) -> str:
    """Only its class names are read (the calibration itself is replaced)."""
    path = tmp_path / "data.yaml"
    path.write_text("val: images/val\nnames: [parcel, label, damage]\n")
    return str(path)


def test_command_saves_a_new_active_version(
    facility: Facility,
    model_version: ModelVersion,
    monkeypatch: pytest.MonkeyPatch,
    data_yaml: str,
) -> None:
    monkeypatch.setattr(calibrate, "run_calibration", fake_calibration)
    monkeypatch.setattr("inspection.inference.loader.load_yolo", lambda path: object())
    save = ["--model-version", str(model_version.pk), "--data", data_yaml, "--save"]
    for _ in range(2):
        call_command("calibrate_thresholds", *save, "--facility", facility.slug)
    rows = ThresholdPolicy.objects.filter(facility=facility).order_by("version")
    assert [(r.version, r.is_active) for r in rows] == [(1, False), (2, True)]
    latest = rows.last()
    assert latest is not None
    assert latest.class_thresholds == {"parcel": 0.41, "label": 0.33, "damage": 0.27}


def test_save_needs_a_facility(model_version: ModelVersion, data_yaml: str) -> None:
    with pytest.raises(CommandError, match="--facility"):
        call_command(
            "calibrate_thresholds",
            "--model-version",
            str(model_version.pk),
            "--data",
            data_yaml,
            "--save",
        )
