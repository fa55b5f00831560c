"""The shadow page in a real browser: a facility admin reads the comparison of the shadow with
the active model, promotes the shadow with the page's button, then rolls the promotion back."""

from __future__ import annotations

from typing import Any

import pytest

from inspection.models import Facility, ModelChange
from inspection.services import shadow
from tests.learning_support import accepted_batch
from tests.review_browser_support import browser_page, on_database, sign_in
from tests.review_support import make_member, parcel_model
from tests.shadow_support import add_shadow_boxes, candidate_model, with_models

pytestmark = [pytest.mark.browser]


@pytest.mark.django_db(transaction=True)
def test_an_admin_promotes_the_shadow_and_rolls_it_back(
    live_server: Any, facility: Facility
) -> None:
    candidate = candidate_model()
    facility = with_models(facility, parcel_model(), None)
    shadow.set_shadow(facility, candidate, by="ml team")
    for image in accepted_batch(facility, 2).images.all():  # parcel and label each
        add_shadow_boxes(image, candidate, [(0, 0.9, [20.0, 30.0, 120.0, 150.0])])
    make_member("ada", facility, "admin")
    with browser_page() as page:
        sign_in(page, live_server.url, "ada")
        page.click("nav >> text=Shadow")
        parcel = page.locator("tr[data-class=parcel] td")
        assert [parcel.nth(i).inner_text() for i in (1, 2)] == ["2", "2"]
        assert parcel.nth(3).inner_text().startswith("1.000")  # every active parcel found
        assert page.locator("tr[data-class=label] td").nth(2).inner_text() == "0"
        page.click("text=Promote parcels:2")
        page.wait_for_selector("text=parcels:2 promoted (policy v1)")
        assert page.locator("text=Promote parcels:2").count() == 0
        page.click("text=Roll back the last promotion")
        page.wait_for_selector("text=back to parcels:1")
        assert page.locator("tr[data-action=rollback]").count() == 1

    def trail() -> list[tuple[str, str]]:
        rows = ModelChange.objects.filter(facility=facility).values_list("action", "created_by")
        return list(rows)

    assert on_database(trail) == [
        ("rollback", "shadow page ada"),
        ("promote", "shadow page ada"),
        ("shadow_set", "ml team"),
    ]
    active = on_database(lambda: Facility.objects.get(pk=facility.pk).active_model_id)
    assert active == parcel_model().pk
