"""Thresholds are never silent: a facility gets the bundled model with its calibrated
thresholds; a model registered without a choice sends everything to review; an operator sets
per-class thresholds (every class covered, each change a new audited version); and what applied
to an image is recorded with it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inspection.models import Facility, ModelVersion, ThresholdPolicy, ThresholdSource
from inspection.pipeline.policies import policy_for
from inspection.services.default_model import bundled_model, calibrated_thresholds
from inspection.services.facilities import create_facility
from inspection.services.policies import (
    InvalidThresholds,
    ThresholdChange,
    save_policy_version,
)
from inspection.validation import NO_THRESHOLDS, Candidate, decide

pytestmark = pytest.mark.django_db

CLASSES = ["parcel", "label", "damage"]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def own_model(tmp_path: Path) -> ModelVersion:
    """A model registered without a threshold choice (the model field's default)."""
    weights = tmp_path / "own.pt"
    weights.write_bytes(b"weights")
    return ModelVersion.objects.create(
        name="own", version="1", file_path=str(weights), class_names=CLASSES, checksum="1" * 64
    )


# --- a facility always has a usable, calibrated model ------------------------------------------


def test_a_new_facility_gets_the_bundled_model_with_its_calibrated_thresholds() -> None:
    facility = create_facility("dc-new")
    model = facility.active_model
    assert model is not None and model.name == "default"
    assert model.class_names == CLASSES and model.is_calibrated
    assert model.class_thresholds == calibrated_thresholds(Path(model.file_path))
    applied = policy_for(facility.pk, model.pk)
    assert applied.calibrated and applied.version is None
    assert applied.rules.threshold_for("damage") == model.class_thresholds["damage"]


def test_the_bundled_model_is_registered_once() -> None:
    first, second = bundled_model(), bundled_model()
    assert first is not None and first == second
    assert ModelVersion.objects.filter(name="default").count() == 1


def test_a_facility_made_by_create_api_key_has_the_model_and_says_so() -> None:
    out = run("create_api_key", "--name", "n", "--facility", "dc-key", "--create-facility")
    facility = Facility.objects.get(slug="dc-key")
    assert facility.active_model == bundled_model()
    assert f"Facility dc-key: model {facility.active_model}" in out
    assert "thresholds calibrated (set at registration)" in out


def test_a_facility_made_by_create_reviewer_has_the_model() -> None:
    run("create_reviewer", "--username", "u", "--facility", "dc-rev", "--create-facility")
    assert Facility.objects.get(slug="dc-rev").active_model == bundled_model()


def test_create_facility_command_with_another_model(own_model: ModelVersion) -> None:
    out = run("create_facility", "dc-own", "--model-version", str(own_model.pk))
    assert Facility.objects.get(slug="dc-own").active_model == own_model
    assert "thresholds review_all (set at registration): UNCALIBRATED" in out


def test_activate_model_gives_a_bare_facility_the_default(bare_facility: Facility) -> None:
    out = run("activate_model", "--facility", "dc-bare", "--default")
    bare_facility.refresh_from_db()
    assert bare_facility.active_model == bundled_model()
    assert "calibrated" in out


def test_activate_model_names_an_unknown_facility() -> None:
    with pytest.raises(CommandError, match="No facility 'nowhere'"):
        run("activate_model", "--facility", "nowhere", "--default")


# --- a model without thresholds sends everything to review ----------------------------------------


def test_a_model_registered_without_a_choice_accepts_nothing(
    facility: Facility, own_model: ModelVersion
) -> None:
    applied = policy_for(facility.pk, own_model.pk)
    assert (applied.source, applied.calibrated) == (ThresholdSource.REVIEW_ALL, False)
    decision = decide([Candidate("parcel", 0.99)], [], applied.rules)
    assert (decision.status, decision.reasons, decision.accepted) == (
        "needs_review",
        [NO_THRESHOLDS],
        {0: False},
    )


def test_a_facility_policy_beats_the_registration_thresholds(
    facility: Facility, own_model: ModelVersion
) -> None:
    policy = save_policy_version(facility, own_model, ThresholdChange.of({}, 0.4))
    applied = policy_for(facility.pk, own_model.pk)
    assert (applied.policy_id, applied.version, applied.source) == (policy.pk, 1, "uniform")
    assert decide([Candidate("parcel", 0.45)], [], applied.rules).status == "accepted"


# --- set_thresholds: every class covered, each change a new version ----------------------------


def test_set_thresholds_writes_a_new_audited_version(
    facility: Facility, own_model: ModelVersion
) -> None:
    facility.active_model = own_model
    facility.save()
    run("set_thresholds", "--facility", "dc-north", "--default", "0.5")
    out = run(
        "set_thresholds", "--facility", "dc-north", "--class", "damage=0.7", "--class",
        "parcel=0.3", "--default", "0.45", "--note", "site trial",
    )  # fmt: skip
    rows = list(ThresholdPolicy.objects.filter(facility=facility).order_by("version"))
    assert [(r.version, r.is_active, r.source) for r in rows] == [
        (1, False, "uniform"),
        (2, True, "manual"),
    ]
    latest = rows[-1]
    assert latest.class_thresholds == {"damage": 0.7, "parcel": 0.3}
    assert latest.default_threshold == 0.45 and latest.note == "site trial"
    assert latest.created_by.startswith("manage.py set_thresholds")
    assert "Saved policy v2" in out and "UNCALIBRATED" in out
    assert policy_for(facility.pk, own_model.pk).rules.threshold_for("label") == 0.45


def test_set_thresholds_refuses_to_leave_a_class_without_a_threshold(facility: Facility) -> None:
    with pytest.raises(CommandError, match="No threshold for 2 class"):
        run("set_thresholds", "--facility", "dc-north", "--class", "damage=0.7")
    assert not ThresholdPolicy.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--class", "dent=0.5", "--default", "0.5"], "Not classes of this model: dent"),
        (["--default", "1.5"], "from 0 to 1"),
        (["--class", "damage"], "NAME=THRESHOLD"),
        (["--review-all", "--default", "0.5"], "takes no thresholds"),
        ([], "Say what to set"),
    ],
)
def test_set_thresholds_errors_are_one_line(
    facility: Facility, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as caught:
        run("set_thresholds", "--facility", "dc-north", *args)
    assert "\n" not in str(caught.value)


def test_set_thresholds_from_a_file_and_back_to_review_all(
    facility: Facility, tmp_path: Path
) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"default": 0.4, "classes": {"damage": 0.8}}')
    run("set_thresholds", "--facility", "dc-north", "--thresholds-file", str(path))
    run("set_thresholds", "--facility", "dc-north", "--review-all")
    active = ThresholdPolicy.objects.get(facility=facility, is_active=True)
    assert (active.version, active.source) == (2, "review_all")
    old = ThresholdPolicy.objects.get(facility=facility, version=1)
    assert (old.class_thresholds, old.default_threshold) == ({"damage": 0.8}, 0.4)


def test_a_calibrated_change_may_leave_classes_to_the_previous_default(
    facility: Facility,
) -> None:
    model = facility.active_model
    policy = save_policy_version(facility, model, ThresholdChange("calibrated", {"parcel": 0.2}))
    assert policy.is_calibrated and policy.default_threshold == 0.5


def test_invalid_thresholds_are_a_domain_error(own_model: ModelVersion, facility: Facility) -> None:
    with pytest.raises(InvalidThresholds):
        save_policy_version(facility, own_model, ThresholdChange.of({"parcel": -1.0}, 0.5))


# --- register_model: the thresholds are chosen at registration ----------------------------------


def test_registering_without_a_choice_says_everything_goes_to_review(
    dev_model_file: Path, facility: Facility
) -> None:
    out = run(
        "register_model", "--path", str(dev_model_file), "--name", "mine", "--version", "1",
        "--activate-for", "dc-north",
    )  # fmt: skip
    model = ModelVersion.objects.get(name="mine")
    assert model.threshold_source == ThresholdSource.REVIEW_ALL
    assert "thresholds: none chosen: every image goes to review" in out
    assert "Facility dc-north: model mine:1 (3 classes), thresholds review_all" in out
    facility.refresh_from_db()
    assert facility.active_model == model


def test_registering_with_thresholds_stores_them_uncalibrated(dev_model_file: Path) -> None:
    out = run(
        "register_model", "--path", str(dev_model_file), "--name", "mine", "--version", "2",
        "--default", "0.4", "--class", "damage=0.6",
    )  # fmt: skip
    model = ModelVersion.objects.get(name="mine")
    assert (model.threshold_source, model.default_threshold) == (ThresholdSource.MANUAL, 0.4)
    assert model.class_thresholds == {"damage": 0.6}
    assert "thresholds: manual: damage 0.6, others 0.4 (UNCALIBRATED)" in out


def test_registering_with_a_class_the_model_lacks_is_one_line(dev_model_file: Path) -> None:
    with pytest.raises(CommandError, match="Not classes of this model: dent") as caught:
        run(
            "register_model", "--path", str(dev_model_file), "--name", "mine", "--version", "3",
            "--default", "0.4", "--class", "dent=0.6",
        )  # fmt: skip
    assert "\n" not in str(caught.value)
    assert not ModelVersion.objects.filter(name="mine").exists()


# --- what a first walk through the commands found ---------------------------------------------


@pytest.mark.parametrize(
    ("content", "classes", "default"),
    [
        ('{"damage": 0.6, "default": 0.4}', {"damage": 0.6}, 0.4),
        (
            '{"default": 0.4, "classes": {"label": 0.2}, "damage": 0.6}',
            {"label": 0.2, "damage": 0.6},
            0.4,
        ),
    ],
)
def test_a_thresholds_file_keeps_every_class_it_names(
    facility: Facility, tmp_path: Path, content: str, classes: dict[str, float], default: float
) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    run("set_thresholds", "--facility", "dc-north", "--thresholds-file", str(path))
    policy = ThresholdPolicy.objects.get(facility=facility, is_active=True)
    assert (policy.class_thresholds, policy.default_threshold) == (classes, default)


def test_a_thresholds_file_with_an_unknown_class_is_refused(
    facility: Facility, tmp_path: Path
) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"dmg": 0.6, "default": 0.4}')
    with pytest.raises(CommandError, match="Not classes of this model: dmg"):
        run("set_thresholds", "--facility", "dc-north", "--thresholds-file", str(path))


def test_min_confidence_above_a_threshold_is_refused(facility: Facility) -> None:
    with pytest.raises(CommandError, match="min_confidence 0.5 is above the threshold of"):
        run(
            "set_thresholds",
            "--facility",
            "dc-north",
            "--default",
            "0.3",
            "--min-confidence",
            "0.5",
        )
    assert not ThresholdPolicy.objects.exists()


@pytest.mark.parametrize("command", ["create_facility", "create_api_key"])
def test_a_facility_name_the_api_would_refuse_is_refused_at_once(command: str) -> None:
    args = ["bad slug!"] if command == "create_facility" else [
        "--name", "n", "--facility", "bad slug!", "--create-facility"
    ]  # fmt: skip
    with pytest.raises(CommandError, match="cannot name a facility: use letters"):
        run(command, *args)
    assert not Facility.objects.filter(slug="bad slug!").exists()


def test_models_are_named_by_id_or_name_version_and_listed(
    bare_facility: Facility, own_model: ModelVersion
) -> None:
    run("activate_model", "--facility", "dc-bare", "--model-version", "own:1")
    bare_facility.refresh_from_db()
    assert bare_facility.active_model == own_model
    listing = run("list_models")
    assert f"{own_model.pk:>4}  own:1  pt, 3 classes, 640 px, thresholds review_all" in listing
    assert "active for dc-bare" in listing
    with pytest.raises(CommandError, match="manage.py list_models shows them"):
        run("activate_model", "--facility", "dc-bare", "--model-version", "own:2")


def test_an_unknown_facility_names_the_command_that_creates_it() -> None:
    with pytest.raises(CommandError, match="create it with: manage.py create_facility nope"):
        run("activate_model", "--facility", "nope", "--default")


def test_back_to_the_models_registration_thresholds(facility: Facility) -> None:
    run("set_thresholds", "--facility", "dc-north", "--default", "0.7")
    out = run("set_thresholds", "--facility", "dc-north", "--from-model")
    policy = ThresholdPolicy.objects.get(facility=facility, is_active=True)
    model = facility.active_model
    assert model is not None
    assert (policy.version, policy.source, policy.class_thresholds) == (
        2,
        "calibrated",
        model.class_thresholds,
    )
    assert "(calibrated)" in out


def test_a_review_all_version_says_so_without_stale_numbers(facility: Facility) -> None:
    out = run("set_thresholds", "--facility", "dc-north", "--review-all")
    assert "review_all: every image goes to review" in out and "default 0." not in out
