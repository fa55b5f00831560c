"""Setting a shadow, promoting it and rolling the promotion back: through the service, the
command, REST and the page. Promote makes the shadow active with its calibrated thresholds as a
new policy version; roll back restores the previous model and the thresholds that routed it, as
another new version (old versions never change); each change is one audit row naming who made
it. Keys and admins of other facilities neither see nor change anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from inspection.inference import runtime
from inspection.models import Facility, ModelChange, ModelVersion, ThresholdPolicy, ThresholdSource
from inspection.pipeline.policies import policy_for
from inspection.services import shadow
from inspection.services.policies import ThresholdChange, save_policy_version
from tests.review_support import make_member, parcel_model
from tests.shadow_support import candidate_model, with_models

pytestmark = pytest.mark.django_db
Action = ModelChange.Action


@pytest.fixture
def active(facility: Facility) -> ModelVersion:
    """parcels:1 active, routed by an operator's policy version 1 (label at 0.8)."""
    model = parcel_model()
    with_models(facility, model, None)
    change = ThresholdChange.of({"label": 0.8}, 0.5, review_if_no_detections=False)
    save_policy_version(facility, model, change, created_by="operator")
    return model


def _fresh(facility: Facility) -> Facility:
    return Facility.objects.select_related("active_model", "shadow_model").get(pk=facility.pk)


def test_promote_then_roll_back_round_trip(facility: Facility, active: ModelVersion) -> None:
    candidate = candidate_model()
    first = ThresholdPolicy.objects.get(facility=facility, model_version=active)
    shadow.set_shadow(facility, candidate, by="ml team")
    assert _fresh(facility).shadow_model == candidate

    promotion = shadow.promote(facility, by="ml team")
    now = _fresh(facility)
    assert (now.active_model, now.shadow_model) == (candidate, None)
    new = policy_for(facility.pk, candidate.pk)
    assert (new.source, new.version) == (ThresholdSource.CALIBRATED, 1)
    assert new.rules.threshold_for("damage") == 0.7 and new.rules.threshold_for("label") == 0.55
    assert (promotion.previous_model, promotion.previous_policy) == (active, first)
    assert promotion.policy is not None and promotion.policy.created_by == "ml team"

    # Meanwhile someone changes the old model's thresholds: the rollback restores the pair the
    # promotion replaced, not whatever is latest.
    later = ThresholdChange.of(
        {"label": 0.9}, 0.4, min_confidence=0.2, review_if_no_detections=True
    )
    save_policy_version(facility, active, later, created_by="operator")
    rollback = shadow.roll_back(facility, by="ml team")
    now = _fresh(facility)
    assert now.active_model == active
    restored = ThresholdPolicy.objects.get(facility=facility, model_version=active, is_active=True)
    assert restored.version == 3  # a new version, equal to the first one
    assert (restored.class_thresholds, restored.default_threshold) == ({"label": 0.8}, 0.5)
    assert (restored.min_confidence, restored.review_if_no_detections) == (0.1, False)
    assert restored.source == first.source and restored.details["copied_from_policy"] == first.pk
    first.refresh_from_db()
    assert (first.version, first.is_active, first.class_thresholds) == (1, False, {"label": 0.8})
    assert rollback.undoes == promotion and rollback.policy == restored
    actions = list(
        ModelChange.objects.filter(facility=facility).values_list("action", "created_by")
    )
    assert actions == [
        (Action.ROLLBACK, "ml team"),
        (Action.PROMOTE, "ml team"),
        (Action.SHADOW_SET, "ml team"),
    ]
    with pytest.raises(shadow.ShadowRefused, match="no promotion to roll back"):
        shadow.roll_back(facility)


def test_what_is_refused_and_why(facility: Facility, active: ModelVersion) -> None:
    with pytest.raises(shadow.ShadowRefused, match="no shadow model to promote"):
        shadow.promote(facility)
    with pytest.raises(shadow.ShadowRefused, match="active model already"):
        shadow.set_shadow(facility, active)
    with pytest.raises(shadow.ShadowRefused, match="no promotion to roll back"):
        shadow.roll_back(facility)
    guess = candidate_model("3", calibrated=False)
    shadow.set_shadow(facility, guess)
    with pytest.raises(shadow.ShadowRefused, match="no calibrated thresholds"):
        shadow.promote(facility)
    assert _fresh(facility).active_model == active  # nothing changed
    # A promotion replaced later by hand is not rolled back over it.
    candidate = candidate_model()
    shadow.set_shadow(facility, candidate)
    shadow.promote(facility)
    with_models(facility, active, None)
    with pytest.raises(shadow.ShadowRefused, match="no longer"):
        shadow.roll_back(facility)


def test_a_rollback_to_the_current_shadow_leaves_no_shadow(
    facility: Facility, active: ModelVersion
) -> None:
    shadow.set_shadow(facility, candidate_model())
    shadow.promote(facility)
    shadow.set_shadow(facility, active)  # the old model, as the new one's shadow
    shadow.roll_back(facility)
    now = _fresh(facility)
    assert (now.active_model, now.shadow_model) == (active, None)


def test_a_facility_policy_calibrated_for_the_shadow_wins_over_its_registration(
    facility: Facility, active: ModelVersion
) -> None:
    candidate = candidate_model()
    calibrated = ThresholdChange(ThresholdSource.CALIBRATED, {"parcel": 0.42}, 0.6)
    save_policy_version(facility, candidate, calibrated, created_by="calibrate_thresholds")
    shadow.set_shadow(facility, candidate)
    promotion = shadow.promote(facility)
    assert promotion.policy is not None and promotion.policy.version == 2
    assert promotion.policy.class_thresholds == {"parcel": 0.42}
    assert policy_for(facility.pk, candidate.pk).rules.threshold_for("parcel") == 0.42


def test_the_command(
    facility: Facility, active: ModelVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = candidate_model()
    call_command("set_shadow", "--facility", facility.slug, "--model-version", "parcels:2")
    assert _fresh(facility).shadow_model == candidate
    call_command("set_shadow", "--facility", facility.slug, "--promote")
    call_command("set_shadow", "--facility", facility.slug, "--rollback")
    out = capsys.readouterr().out
    assert "shadow model parcels:2" in out and "back to parcels:1" in out
    with pytest.raises(CommandError, match="no shadow model"):
        call_command("set_shadow", "--facility", facility.slug, "--clear")
    authors = set(ModelChange.objects.values_list("created_by", flat=True))
    assert authors == {"manage.py set_shadow"}


def test_rest_reads_and_changes_only_the_keys_facility(
    facility: Facility,
    other_facility: Facility,
    active: ModelVersion,
    api_client: APIClient,
    outsider_client: APIClient,
) -> None:
    candidate = candidate_model()
    shadow.set_shadow(facility, candidate)
    base = f"/api/v1/facilities/{facility.slug}/shadow/"
    body = api_client.get(base).json()
    assert (body["active_model"], body["shadow_model"], body["images"]) == (
        "parcels:1",
        "parcels:2",
        0,
    )
    assert [row["class_name"] for row in body["classes"]] == ["parcel", "label", "damage"]
    assert body["can_roll_back"] is False
    assert outsider_client.get(base).status_code == 404
    for action in ("promote", "rollback"):
        assert outsider_client.post(base, {"action": action}, format="json").status_code == 404
    assert _fresh(facility).active_model == active
    bad = api_client.post(base, {"action": "activate"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"

    promoted = api_client.post(base, {"action": "promote"}, format="json")
    assert promoted.status_code == 201
    assert promoted.json()["action"] == "promote" and promoted.json()["model"] == "parcels:2"
    assert promoted.json()["created_by"].startswith("api key integrator")
    assert api_client.get(base).json()["can_roll_back"] is True
    again = api_client.post(base, {"action": "promote"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "shadow_refused"
    rolled = api_client.post(base, {"action": "rollback"}, format="json")
    assert rolled.status_code == 201 and rolled.json()["model"] == "parcels:1"
    assert _fresh(facility).active_model == active


def test_the_schema_lists_the_endpoint(client: Client) -> None:
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/facilities/{slug}/shadow/"]
    assert {"get", "post"} <= set(operation)
    assert {"201", "400", "404", "409"} <= set(operation["post"]["responses"])


def test_the_page_is_for_the_facilitys_admins(
    facility: Facility, other_facility: Facility, active: ModelVersion
) -> None:
    shadow.set_shadow(facility, candidate_model())
    for name, where, role in (("rex", facility, "reviewer"), ("oz", other_facility, "admin")):
        client = Client()
        client.force_login(make_member(name, where, role))
        html = client.get("/review/shadow/").content.decode()
        assert "parcels:2" not in html
        assert (
            client.post("/review/shadow/promote/", {"facility": facility.slug}).status_code == 404
        )
    assert _fresh(facility).active_model == active
    admin = Client()
    admin.force_login(make_member("ada", facility, "admin"))
    html = admin.get("/review/shadow/").content.decode()
    assert "Promote parcels:2" in html and 'data-class="damage"' in html
    answer = admin.post("/review/shadow/promote/", {"facility": facility.slug}, follow=True)
    assert "parcels:2 promoted (policy v1)" in answer.content.decode()
    assert ModelChange.objects.get(action=Action.PROMOTE).created_by == "shadow page ada"


@pytest.mark.slow  # registration loads and probes the model: over a second on 2 cores
def test_register_model_shadow_for(
    facility: Facility, dev_model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _fresh(facility).active_model
    args = ["--path", str(dev_model_file), "--name", "dev", "--version", "next"]
    call_command("register_model", *args, "--shadow-for", facility.slug)
    now = _fresh(facility)
    assert now.shadow_model is not None and str(now.shadow_model) == "dev:next"
    assert now.active_model == before  # a shadow, not an activation
    assert "dc-north: shadow model dev:next" in capsys.readouterr().out
    change = ModelChange.objects.get(facility=facility)
    assert (change.action, change.created_by) == (Action.SHADOW_SET, "manage.py register_model")
    with pytest.raises(CommandError, match="shadow model already"):
        call_command("register_model", *args, "--shadow-for", facility.slug)
    with pytest.raises(CommandError, match="not allowed with"):
        call_command("register_model", *args, "--shadow-for", "x", "--activate-for", "y")


def test_active_and_shadow_versions_are_what_workers_load(
    facility: Facility, other_facility: Facility, active: ModelVersion
) -> None:
    candidate = candidate_model()
    shadow.set_shadow(facility, candidate)
    expected = {active.pk, candidate.pk, other_facility.active_model_id}
    assert runtime.active_model_ids() == expected
