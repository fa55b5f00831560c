"""The Content-Security-Policy in Debian's chromium: the review pages (their scripts included),
the admin and Swagger UI all work under it and the browser reports no violation."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page

from tests.review_browser_support import (
    browser_page,
    sign_in,
    wait_for_task_page,
)
from tests.review_support import PASSWORD, make_task

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root")]

# Playwright's init scripts are exempt from the page's policy: this one only listens.
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
    [e.violatedDirective, e.blockedURI || 'inline', e.sourceFile + ':' + e.lineNumber].join(' ')));
"""
PAGES = [
    "/review/",
    "/review/stats/",
    "/review/exports/",
    "/analytics/",
    "/admin/",
    "/admin/inspection/image/",
    "/admin/inspection/reviewdecision/",
    "/admin/auth/user/add/",
]


def violations(page: Page) -> list[str]:
    page.wait_for_timeout(200)  # violation events are queued as tasks
    return page.evaluate("window.__violations")


@pytest.mark.django_db(transaction=True)
def test_pages_admin_and_swagger_ui_work_under_the_policy(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    task = make_task(facility, reasons=["low_confidence:parcel"])
    seen: dict[str, list[str]] = {}
    with browser_page() as page:
        page.add_init_script(LISTEN)
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text) if "Security" in m.text else None)

        sign_in(page, live_server.url, "root")
        page.click("text=Next task")  # the task page and its module scripts
        wait_for_task_page(page)
        page.keyboard.press("l")
        seen[f"/review/tasks/{task.pk}/"] = violations(page)
        page.goto(f"{live_server.url}/review/grid/")
        seen["/review/grid/"] = violations(page)
        for path in PAGES:
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 200, path
            seen[path] = violations(page)

        page.goto(f"{live_server.url}/api/v1/docs/")
        page.wait_for_selector(".opblock", timeout=15_000)  # Swagger UI rendered the operations
        assert page.locator(".opblock").count() >= 5
        seen["/api/v1/docs/"] = violations(page)

    assert {path: found for path, found in seen.items() if found} == {}
    assert console == []
