"""The thresholds page: a facility admin sees, per model and class, the threshold, promised and
measured precision with bound and sample, and the recommendation; "apply" writes it as a new
calibrated policy version (the old one kept, the author recorded). Reviewers and admins of other
facilities neither see nor apply it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from inspection.learning import precision
from inspection.models import Facility, ThresholdPolicy, ThresholdSource
from inspection.pipeline.policies import policy_for
from inspection.review import leases
from inspection.review.decisions import DecisionRequest, decide
from tests.learning_support import LOW_LABEL, PARCEL_ONLY, accepted_batch, audit_task
from tests.review_support import make_member, parcel_model

pytestmark = pytest.mark.django_db
PAGE = "/review/precision/"
APPLY = "/review/precision/apply/"


def audits(facility: Facility, reviewer: Any, count: int, label_wrong_every: int = 0) -> None:
    """`count` audited images (parcel 0.93, label 0.88); every n-th has its label deleted."""
    for index, image in enumerate(accepted_batch(facility, count).images.order_by("position")):
        task = audit_task(image)
        assert leases.claim_task(task, reviewer)
        wrong = label_wrong_every and index % label_wrong_every == 0
        decide(task, reviewer, DecisionRequest("accepted", boxes=[PARCEL_ONLY] if wrong else None))


def cells(html: str, class_name: str) -> list[str]:
    row = html[html.index(f'data-class="{class_name}"') :].split("</tr>")[0]
    return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def signed_in(facility: Facility, name: str, role: str) -> Client:
    client = Client()
    client.force_login(make_member(name, facility, role))
    return client


@pytest.fixture
def policy(facility: Facility) -> ThresholdPolicy:
    """Label at 0.85: its boxes at 0.88 are accepted, and stricter candidates can be tested."""
    return ThresholdPolicy.objects.create(
        facility=facility,
        model_version=parcel_model(),
        default_threshold=0.5,
        class_thresholds={"label": 0.85, "damage": 0.6},
        source=ThresholdSource.MANUAL,
    )


def test_an_admin_sees_the_measured_precision_per_class(
    facility: Facility, reviewer: Any, policy: ThresholdPolicy
) -> None:
    audits(facility, reviewer, 20, label_wrong_every=4)  # label: 15 of 20
    html = signed_in(facility, "ada", "admin").get(PAGE).content.decode()
    assert "dc-north · parcels:1" in html and "(20 audited images)" in html
    assert cells(html, "label")[:7] == [
        "label",
        "0.85",  # now
        "0.950",  # promised
        "0.750",  # measured: 15 of 20
        f"{precision.lower_bound(15, 20):.3f}",
        "20",
        "never at this precision",  # 0.75 is below the promise
    ]
    assert cells(html, "parcel")[6] == "39 boxes (~39 images)"  # 20 of 20: 59 would certify
    assert "Apply the recommended thresholds" in html


def test_a_reviewer_or_another_facilitys_admin_sees_nothing(
    facility: Facility, other_facility: Facility, reviewer: Any, policy: ThresholdPolicy
) -> None:
    audits(facility, reviewer, 3)
    for client in (
        signed_in(facility, "rex", "reviewer"),
        signed_in(other_facility, "oz", "admin"),
    ):
        html = client.get(PAGE).content.decode()
        assert "No audit has been decided" in html and "parcels:1" not in html
        answer = client.post(APPLY, {"facility": facility.slug, "model": parcel_model().pk})
        assert answer.status_code == 404
    assert ThresholdPolicy.objects.filter(facility=facility).count() == 1


@pytest.mark.slow  # over a second on 2 cores (pytest.ini)
def test_apply_writes_the_recommendation_as_a_new_policy_version(
    facility: Facility, reviewer: Any
) -> None:
    """Label at 0.5. 200 audited label boxes at 0.88, all right, certify 0.88 .. 0.61; at 0.6
    come 50 more of which half are wrong (precision 0.9 < 0.95): the sequence stops there, and
    0.61 is recommended. Parcel (250 boxes at 0.93, all right) is certified down to its 0.5."""
    old = ThresholdPolicy.objects.create(
        facility=facility,
        model_version=parcel_model(),
        default_threshold=0.5,
        class_thresholds={"parcel": 0.5, "label": 0.5, "damage": 0.6},
        source=ThresholdSource.MANUAL,
    )
    audits(facility, reviewer, 200)
    for index, image in enumerate(accepted_batch(facility, 50, LOW_LABEL).images.all()):
        task = audit_task(image)
        assert leases.claim_task(task, reviewer)
        decide(task, reviewer, DecisionRequest("accepted", [PARCEL_ONLY] if index % 2 else None))
    client = signed_in(facility, "ada", "admin")
    html = client.get(PAGE).content.decode()
    assert cells(html, "label")[7:] == ["0.61", "0 % → 20 %"]  # 50 of 250 images would go

    model = parcel_model()
    answer = client.post(APPLY, {"facility": facility.slug, "model": model.pk}, follow=True)
    assert "policy version 2 applied" in answer.content.decode()
    new = ThresholdPolicy.objects.get(facility=facility, is_active=True)
    assert (new.version, new.source, new.created_by) == (
        2,
        "calibrated",
        "thresholds page ada",
    )
    assert new.class_thresholds == {"parcel": 0.5, "label": 0.61, "damage": 0.6}
    evidence = new.details["classes"]["label"]
    assert (evidence["previous_threshold"], evidence["target_precision"]) == (0.5, 0.95)
    assert evidence["audited_boxes"] == 250
    old.refresh_from_db()
    assert not old.is_active  # kept, inactive
    assert policy_for(facility.pk, model.pk).rules.threshold_for("label") == 0.61

    again = client.post(APPLY, {"facility": facility.slug, "model": model.pk}, follow=True)
    assert "differs from its own" in again.content.decode()
    assert ThresholdPolicy.objects.filter(facility=facility).count() == 2
