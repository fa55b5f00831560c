"""The admin path of a new facility and of threshold changes: a facility added there gets the
bundled model, a chosen model is activated, policy versions are only added (never edited or
deleted), checked like the commands, and audited with the admin's name."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from inspection.models import Facility, ThresholdPolicy
from inspection.services.default_model import bundled_model
from tests.api_support import make_model

pytestmark = pytest.mark.django_db

ADD_FACILITY = "/admin/inspection/facility/add/"
ADD_POLICY = "/admin/inspection/thresholdpolicy/add/"
INLINE = {
    "facilitymembership_set-TOTAL_FORMS": "0",
    "facilitymembership_set-INITIAL_FORMS": "0",
}


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.mark.slow
def test_a_facility_added_in_the_admin_gets_the_bundled_model(admin_client: Client) -> None:
    form = {"slug": "dc-admin", "name": "Admin DC", "active_model": "", **INLINE}
    response = admin_client.post(ADD_FACILITY, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Facility.objects.get(slug="dc-admin").active_model == bundled_model()


def test_a_facility_added_with_a_chosen_model_keeps_it(admin_client: Client) -> None:
    model = make_model()
    form = {"slug": "dc-own", "name": "Own", "active_model": str(model.pk), **INLINE}
    assert admin_client.post(ADD_FACILITY, form).status_code == 302
    assert Facility.objects.get(slug="dc-own").active_model == model


def test_the_facility_list_says_whether_thresholds_are_calibrated(
    admin_client: Client, facility: Facility
) -> None:
    facility.active_model = make_model()
    facility.save()
    html = admin_client.get("/admin/inspection/facility/").content.decode()
    assert "review_all (UNCALIBRATED)" in html


def test_adding_a_policy_writes_a_new_audited_version(
    admin_client: Client, facility: Facility
) -> None:
    model = facility.active_model
    assert model is not None
    form = {
        "facility": facility.pk,
        "model_version": model.pk,
        "source": "manual",
        "default_threshold": "0.4",
        "class_thresholds": '{"damage": 0.7}',
        "min_confidence": "0.1",
        "note": "from the admin",
    }
    for _ in range(2):
        assert admin_client.post(ADD_POLICY, form).status_code == 302
    versions = ThresholdPolicy.objects.filter(facility=facility).order_by("version")
    assert [(p.version, p.is_active) for p in versions] == [(1, False), (2, True)]
    latest = versions.last()
    assert latest is not None
    assert latest.created_by == "admin root"
    assert latest.class_thresholds == {"damage": 0.7}


def test_a_policy_missing_classes_is_refused_with_the_reason(
    admin_client: Client, facility: Facility
) -> None:
    form = {
        "facility": facility.pk,
        "model_version": facility.active_model_id,
        "source": "manual",
        "default_threshold": "",
        "class_thresholds": '{"damage": 0.7}',
        "min_confidence": "0.1",
    }
    html = admin_client.post(ADD_POLICY, form).content.decode()
    assert "No threshold for 2 class(es): parcel, label" in html
    assert not ThresholdPolicy.objects.exists()


def test_a_version_is_never_edited_or_deleted_and_never_typed_as_calibrated(
    admin_client: Client, facility: Facility
) -> None:
    policy = ThresholdPolicy.objects.create(facility=facility, default_threshold=0.3)
    page = admin_client.get(f"/admin/inspection/thresholdpolicy/{policy.pk}/change/")
    assert 'name="default_threshold"' not in page.content.decode()
    admin_client.post(f"/admin/inspection/thresholdpolicy/{policy.pk}/change/", {"note": "x"})
    delete = admin_client.post(f"/admin/inspection/thresholdpolicy/{policy.pk}/delete/")
    assert delete.status_code == 403
    policy.refresh_from_db()
    assert policy.note == "" and policy.default_threshold == 0.3
    add = admin_client.get(ADD_POLICY).content.decode()
    assert 'value="manual"' in add and 'value="calibrated"' not in add
