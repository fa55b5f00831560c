"""The measured precision over REST: the report of the key's facility, as numbers an
integrator can read; another facility's slug is not found."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from inspection.learning import precision
from inspection.models import Facility
from inspection.review import leases
from inspection.review.decisions import DecisionRequest, decide
from tests.learning_support import PARCEL_ONLY, accepted_batch, audit_task

pytestmark = pytest.mark.django_db


def audited(facility: Facility, reviewer: Any) -> None:
    """Four audits: three confirmed, one with the label box deleted."""
    images = list(accepted_batch(facility, 4).images.order_by("position"))
    for index, image in enumerate(images):
        task = audit_task(image)
        assert leases.claim_task(task, reviewer)
        boxes = [PARCEL_ONLY] if index == 3 else None
        decide(task, reviewer, DecisionRequest("accepted", boxes=boxes))


def test_the_precision_of_the_keys_facility(
    facility: Facility, reviewer: Any, api_client: APIClient
) -> None:
    audited(facility, reviewer)
    answer = api_client.get(f"/api/v1/facilities/{facility.slug}/precision/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["facility"] == "dc-north"
    rows = {row["class_name"]: row for row in body["classes"]}
    assert list(rows) == ["parcel", "label", "damage"]
    label = rows["label"]
    assert (label["model"], label["audited_images"], label["boxes"], label["correct"]) == (
        "parcels:1",
        4,
        4,
        3,
    )
    assert label["precision"] == 0.75
    assert label["lower_bound"] == pytest.approx(precision.lower_bound(3, 4))
    assert (label["certified"], label["further_audits"], label["target"]) == (False, None, 0.95)
    assert rows["parcel"]["further_audits"] == precision.further_audits(4, 4, 0.95) == 55
    assert rows["parcel"]["further_audited_images"] == 55  # one parcel box per image
    assert label["recommended"] == {
        "threshold": None,
        "delta": pytest.approx(0.05 / 3),
        "steps": [],
    }
    assert label["review"] == {"images": 4, "now": 0.0, "recommended": None}


def test_another_facilitys_precision_is_not_found(
    facility: Facility, reviewer: Any, outsider_client: APIClient
) -> None:
    audited(facility, reviewer)
    answer = outsider_client.get(f"/api/v1/facilities/{facility.slug}/precision/")
    assert answer.status_code == 404


def test_no_audit_yet_is_an_empty_list(facility: Facility, api_client: APIClient) -> None:
    body = api_client.get(f"/api/v1/facilities/{facility.slug}/precision/").json()
    assert body == {"facility": "dc-north", "classes": []}


@pytest.mark.slow  # over a second on 2 cores (pytest.ini)
def test_the_tests_behind_a_recommendation(
    facility: Facility, reviewer: Any, api_client: APIClient
) -> None:
    """150 confirmed audits: the parcel boxes (all at 0.93) certify every candidate from 0.93
    down to the current 0.5."""
    for image in accepted_batch(facility, 150).images.all():
        task = audit_task(image)
        assert leases.claim_task(task, reviewer)
        decide(task, reviewer, DecisionRequest("accepted"))
    body = api_client.get(f"/api/v1/facilities/{facility.slug}/precision/").json()
    parcel = next(row for row in body["classes"] if row["class_name"] == "parcel")
    recommended = parcel["recommended"]
    assert recommended["threshold"] == 0.5
    steps = recommended["steps"]
    assert [step["threshold"] for step in steps] == [round(0.93 - i / 100, 2) for i in range(44)]
    assert steps[0] == {
        "threshold": 0.93,
        "n": 150,
        "false_positives": 0,
        "p_value": pytest.approx(0.95**150),
        "certified": True,
    }
    assert (parcel["certified"], parcel["further_audits"]) == (True, 0)


def test_the_same_numbers_as_prometheus_gauges(
    facility: Facility, reviewer: Any, client: Any, redis_queues: Any
) -> None:
    audited(facility, reviewer)
    text = client.get("/metrics").content.decode()
    found = {
        (sample.name, sample.labels.get("class_name")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("inspection_precision_")
        and sample.labels.get("facility") == "dc-north"
        and sample.labels.get("model") == "parcels:1"
    }
    assert found[("inspection_precision_audited_boxes", "label")] == 4
    assert found[("inspection_precision_measured", "label")] == 0.75
    assert found[("inspection_precision_lower_bound", "label")] == pytest.approx(
        precision.lower_bound(3, 4)
    )
    assert found[("inspection_precision_threshold", "label")] == 0.5
    assert found[("inspection_precision_target", "label")] == 0.95
    assert found[("inspection_precision_certified", "label")] == 0.0
    assert found[("inspection_precision_further_audits", "parcel")] == 55
    assert found[("inspection_precision_further_audited_images", "parcel")] == 55
    assert ("inspection_precision_further_audits", "label") not in found  # never: no sample
    assert ("inspection_precision_measured", "damage") not in found  # nothing audited
