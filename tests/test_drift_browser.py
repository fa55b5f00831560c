"""The Drift section of the thresholds page in a real browser: a facility admin sees the open
alert and acknowledges it with its button; the alert records who, and leaves the page."""

from __future__ import annotations

from typing import Any

import pytest

from inspection.models import DriftAlert, Facility
from tests.drift_support import open_alert
from tests.review_browser_support import browser_page, on_database, sign_in
from tests.review_support import make_member, parcel_model

pytestmark = [pytest.mark.browser]


@pytest.mark.django_db(transaction=True)
def test_an_admin_acknowledges_an_alert_from_the_thresholds_page(
    live_server: Any, facility: Facility
) -> None:
    alert = open_alert(facility, parcel_model(), "label", camera="dock-2")
    make_member("ada", facility, "admin")
    with browser_page() as page:
        sign_in(page, live_server.url, "ada")
        page.click("nav >> text=Thresholds")
        row = page.locator(f"tr[data-alert='{alert.pk}'] td")
        assert [row.nth(i).inner_text() for i in (0, 1, 3, 4)] == [
            "dc-north", "dock-2", "label", "confidence drift (PSI)"
        ]  # fmt: skip
        page.locator(f"tr[data-alert='{alert.pk}']").get_by_role("button").click()
        page.wait_for_selector("text=the alert on label is acknowledged")
        assert page.locator("tr[data-alert]").count() == 0
        assert page.locator("text=No open drift alert").is_visible()

    def acknowledged() -> tuple[str, bool]:
        row = DriftAlert.objects.get(pk=alert.pk)
        return row.acknowledged_by, row.is_open

    assert on_database(acknowledged) == ("thresholds page ada", False)
