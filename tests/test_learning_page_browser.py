"""The thresholds page in a real browser: a facility admin signs in, reads the measured
precision and the recommendation of a class, and applies it with the page's button."""

from __future__ import annotations

from typing import Any

import pytest

from inspection.models import Facility, ThresholdPolicy, ThresholdSource
from inspection.review import leases
from inspection.review.decisions import DecisionRequest, decide
from tests.learning_support import LOW_LABEL, PARCEL_ONLY, accepted_batch, audit_task
from tests.review_browser_support import browser_page, on_database, sign_in
from tests.review_support import make_member, parcel_model

pytestmark = [pytest.mark.browser]


def audited(facility: Facility, reviewer: Any) -> None:
    """As in test_learning_page: label certified from 0.88 down to 0.61, failing at 0.6."""
    ThresholdPolicy.objects.create(
        facility=facility,
        model_version=parcel_model(),
        default_threshold=0.5,
        class_thresholds={"parcel": 0.5, "label": 0.5, "damage": 0.6},
        source=ThresholdSource.MANUAL,
    )
    images = list(accepted_batch(facility, 200).images.all())
    low = list(accepted_batch(facility, 50, LOW_LABEL).images.all())
    for index, image in enumerate(images + low):
        task = audit_task(image)
        assert leases.claim_task(task, reviewer)
        wrong = index >= len(images) and index % 2 == 1
        decide(task, reviewer, DecisionRequest("accepted", [PARCEL_ONLY] if wrong else None))


@pytest.mark.django_db(transaction=True)
def test_an_admin_applies_the_recommendation_from_the_page(
    live_server: Any, facility: Facility, reviewer: Any
) -> None:
    audited(facility, reviewer)
    make_member("ada", facility, "admin")
    with browser_page() as page:
        sign_in(page, live_server.url, "ada")
        page.click("nav >> text=Thresholds")
        label = page.locator("tr[data-class=label] td")
        assert label.nth(7).inner_text() == "0.61"
        assert label.nth(8).inner_text() == "0 % → 20 %"
        page.click("text=Apply the recommended thresholds")
        page.wait_for_selector("text=policy version 2 applied")
        assert page.locator("tr[data-class=label] td").nth(1).inner_text() == "0.61"

    def active() -> dict[str, float]:
        policy = ThresholdPolicy.objects.get(facility=facility, is_active=True)
        assert (policy.version, policy.created_by) == (2, "thresholds page ada")
        return dict(policy.class_thresholds)

    assert on_database(active) == {"parcel": 0.5, "label": 0.61, "damage": 0.6}
