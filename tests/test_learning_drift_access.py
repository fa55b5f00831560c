"""Drift alerts where people act on them: the REST list and acknowledgement (the key's
facilities only, the key recorded), the Drift section of the thresholds page (facility admins
only, the user recorded), and a precision breach measured from real audit verdicts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from inspection.learning import drift
from inspection.models import DriftAlert, Facility
from inspection.review import leases
from inspection.review.decisions import DecisionRequest, decide
from tests.drift_support import open_alert
from tests.learning_support import PARCEL_ONLY, accepted_batch, audit_task
from tests.review_support import make_member, parcel_model

pytestmark = pytest.mark.django_db
PAGE = "/review/precision/"


def alerts_url(facility: Facility) -> str:
    return f"/api/v1/facilities/{facility.slug}/drift-alerts/"


def ack_url(alert: DriftAlert) -> str:
    return f"{alerts_url(alert.facility)}{alert.pk}/acknowledge/"


# --- REST ---------------------------------------------------------------------------------------


def test_the_key_lists_its_facilitys_open_alerts(
    facility: Facility, other_facility: Facility, api_client: APIClient
) -> None:
    mine = open_alert(facility, parcel_model(), "label", camera="dock-2")
    open_alert(other_facility, parcel_model(), "parcel")

    answer = api_client.get(alerts_url(facility))

    assert answer.status_code == 200
    [row] = answer.json()["results"]
    assert (row["id"], row["class_name"], row["camera"], row["kind"]) == (
        mine.pk, "label", "dock-2", "drift"
    )  # fmt: skip
    assert row["open"] is True and row["model"] == "parcels:1" and row["acknowledged_by"] == ""


def test_another_facilitys_alerts_are_not_found(
    facility: Facility, other_facility: Facility, api_client: APIClient
) -> None:
    theirs = open_alert(other_facility, parcel_model(), "parcel")

    assert api_client.get(alerts_url(other_facility)).status_code == 404
    # Its id under the key's own facility is not found either, and nothing changes.
    stolen = f"{alerts_url(facility)}{theirs.pk}/acknowledge/"
    assert api_client.post(stolen).status_code == 404
    assert api_client.post(ack_url(theirs)).status_code == 404
    garbled = api_client.post(f"{alerts_url(facility)}null/acknowledge/")
    assert garbled.status_code == 404 and garbled.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.is_open


def test_acknowledging_records_the_key_and_closes_the_alert_once(
    facility: Facility, api_client: APIClient
) -> None:
    alert = open_alert(facility, parcel_model(), "parcel")

    answer = api_client.post(ack_url(alert))

    assert answer.status_code == 200
    body = answer.json()
    assert body["open"] is False and body["acknowledged_by"].startswith("api key ")
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.acknowledged_by == body["acknowledged_by"]
    again = api_client.post(ack_url(alert))
    assert again.status_code == 409 and again.json()["code"] == "already_acknowledged"
    assert api_client.get(alerts_url(facility)).json()["results"] == []
    every = api_client.get(alerts_url(facility), {"state": "all"}).json()["results"]
    assert [row["id"] for row in every] == [alert.pk]


def test_an_unknown_state_is_a_clear_error(facility: Facility, api_client: APIClient) -> None:
    for state in ("closed", ""):
        answer = api_client.get(alerts_url(facility), {"state": state})

        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid" and "state" in answer.json()["errors"]


# --- the thresholds page ------------------------------------------------------------------------


def signed_in(facility: Facility, name: str, role: str) -> Client:
    client = Client()
    client.force_login(make_member(name, facility, role))
    return client


def test_an_admin_sees_the_open_alerts_and_acknowledges_one(facility: Facility) -> None:
    alert = open_alert(facility, parcel_model(), "label")
    admin = signed_in(facility, "ada", "admin")

    page = admin.get(PAGE).content.decode()
    assert f'data-alert="{alert.pk}"' in page and "confidence drift (PSI)" in page

    answer = admin.post(f"/review/precision/drift/{alert.pk}/acknowledge/", follow=True)

    assert answer.status_code == 200
    assert "the alert on label is acknowledged" in answer.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == "thresholds page ada" and not alert.is_open
    assert f'data-alert="{alert.pk}"' not in admin.get(PAGE).content.decode()


def test_reviewers_and_other_facilities_admins_cannot_acknowledge(
    facility: Facility, other_facility: Facility
) -> None:
    alert = open_alert(facility, parcel_model(), "label")
    url = f"/review/precision/drift/{alert.pk}/acknowledge/"
    reviewer = signed_in(facility, "rita", "reviewer")
    stranger = signed_in(other_facility, "sam", "admin")

    assert reviewer.post(url).status_code == 404
    assert stranger.post(url).status_code == 404
    assert f'data-alert="{alert.pk}"' not in stranger.get(PAGE).content.decode()
    alert.refresh_from_db()
    assert alert.is_open


# --- a precision breach from audits -------------------------------------------------------------


@pytest.mark.slow
def test_a_precision_bound_below_the_promise_opens_an_alert(
    facility: Facility, reviewer: Any
) -> None:
    """70 audits: the parcel always right (bound 0.958, certified), the label deleted in one
    audit in five (bound far below 0.95 on more boxes than could certify it)."""
    facility.active_model = parcel_model()
    facility.save()
    for index, image in enumerate(accepted_batch(facility, 70).images.order_by("position")):
        task = audit_task(image)
        assert leases.claim_task(task, reviewer)
        boxes = [PARCEL_ONLY] if index % 5 == 0 else None
        decide(task, reviewer, DecisionRequest("accepted", boxes=boxes))

    assert drift.check_all() == 1

    alert = DriftAlert.objects.get()
    assert (alert.kind, alert.class_name, alert.camera) == ("precision", "label", None)
    assert alert.statistic < 0.9 and alert.cutoff == 0.95
    assert "56 of 70 audited boxes correct" in alert.detail
