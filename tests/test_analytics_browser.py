"""The analytics page in Debian's chromium, as a site manager sees it. On a facility without
images every chart says why it is empty. On a month of history (`manage.py fill_history`,
200,000 images over 30 days unless ANALYTICS_BROWSER_IMAGES says fewer) every chart is drawn as
SVG with its axis names and legend on screen, shows a tooltip under the mouse, and its CSV
downloads; the page breaks no rule of the Content-Security-Policy. Screenshots go to
artifacts/analytics-*.png."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page

from inspection.models import Facility
from tests.review_browser_support import browser_page, sign_in
from tests.review_support import make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
HISTORY_IMAGES = int(os.environ.get("ANALYTICS_BROWSER_IMAGES", "200000"))
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
    [e.violatedDirective, e.blockedURI || 'inline', e.sourceFile + ':' + e.lineNumber].join(' ')));
"""
# Per chart: axis names and legend entries a person must be able to read.
TEXTS = {
    "throughput": ["images", "day (UTC)", "Accepted", "Needs review", "Failed", "Rejected"],
    "latency": ["latency (log scale)", "End to end, p50", "End to end, p95", "Queue wait, p95"],
    "confidence": ["confidence", "share of boxes", "This period", "When the thresholds were set"],
    "confidence_trend": ["mean confidence", "day (UTC)", "parcel", "label", "damage"],
    "review_backlog": [
        "tasks waiting",
        "oldest waiting (h)",
        "Tasks waiting",
        "Oldest task waiting",
    ],
    "review_decisions": ["decisions", "Accepted as is", "Corrected", "Rejected"],
    "overrides": ["overridden", "parcel", "label", "damage"],
    "failures": ["failed images", "too dark", "truncated"],
}


def open_analytics(page: Page, base_url: str, query: str) -> dict[str, str]:
    """The page, once every card has drawn its chart or said why not: card id -> state."""
    page.goto(f"{base_url}/analytics/{query}")
    page.wait_for_selector(".chart-card:not([data-state])", state="detached", timeout=60_000)
    cards = page.locator(".chart-card")
    return {
        cards.nth(i).get_attribute("data-chart") or "": cards.nth(i).get_attribute("data-state")
        or ""
        for i in range(cards.count())
    }


def visible_text(page: Page, chart: str, text: str) -> bool:
    exact = page.locator(f"#chart-{chart} svg text").filter(
        has_text=re.compile(f"^{re.escape(text)}$")
    )
    return exact.count() > 0 and exact.first.is_visible()


def tooltip_under_mouse(page: Page, chart: str, canvas: Any) -> str:
    """Hover the middle of the plot; the tooltip's text once it shows."""
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.55)
    tip = page.locator(f"#chart-{chart} .chart-tip").last
    tip.wait_for(state="visible", timeout=5_000)
    return tip.inner_text()


@pytest.fixture
def manager(facility: Facility) -> Any:
    return make_member("manager", facility, role="viewer")


def test_an_empty_facility_says_why_each_chart_is_empty(live_server: Any, manager: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page(1440, 900) as page:
        page.add_init_script(LISTEN)
        sign_in(page, live_server.url, "manager")
        states = open_analytics(page, live_server.url, "?period=30d")
        assert set(states.values()) == {"empty"} and len(states) == len(TEXTS)
        for chart in TEXTS:
            message = page.locator(f"#chart-{chart} .chart-empty")
            assert message.is_visible(), chart
            assert "dc-north" in message.inner_text() or "model" in message.inner_text(), chart
            assert page.locator(f"#chart-{chart} svg").count() == 0
        page.screenshot(path=str(ARTIFACTS / "analytics-empty.png"), full_page=True)
        assert page.evaluate("window.__violations") == []


def test_a_month_of_history_is_drawn_readably(live_server: Any, manager: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    call_command(
        "fill_history", "--facility", "dc-north", "--images", HISTORY_IMAGES, "--days", "30"
    )
    with browser_page(1440, 900) as page:
        page.add_init_script(LISTEN)
        sign_in(page, live_server.url, "manager")
        assert set(open_analytics(page, live_server.url, "?period=7d").values()) == {"ready"}
        page.screenshot(path=str(ARTIFACTS / "analytics-history-7d.png"), full_page=True)

        states = open_analytics(page, live_server.url, "?period=30d")
        assert set(states.values()) == {"ready"} and len(states) == len(TEXTS)
        for chart, texts in TEXTS.items():
            canvases = page.locator(f"#chart-{chart} .chart-canvas")
            assert canvases.count() == (3 if chart == "confidence" else 1), chart
            assert page.locator(f"#chart-{chart} .chart-canvas svg").count() == canvases.count()
            missing = [text for text in texts if not visible_text(page, chart, text)]
            assert missing == [], chart
            for i in range(canvases.count()):
                canvases.nth(i).scroll_into_view_if_needed()
                text = tooltip_under_mouse(page, chart, canvases.nth(i))
                assert re.search(r"\d", text), (chart, text)
            page.locator(f"#chart-{chart}").screenshot(
                path=str(ARTIFACTS / f"analytics-tooltip-{chart.replace('_', '-')}.png")
            )
        page.mouse.move(0, 0)
        page.screenshot(path=str(ARTIFACTS / "analytics-history-30d.png"), full_page=True)

        with page.expect_download() as download:
            page.click("#chart-latency .chart-csv")
        head = Path(download.value.path()).read_text().splitlines()[0]
        assert head == (
            "bucket_start,total_p50 (ms),total_p95 (ms),queue_wait_p50 (ms),queue_wait_p95 (ms)"
        )
        assert page.evaluate("window.__violations") == []
