"""The review pages in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser), signing in, and dragging a box by a known offset on the task page."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from django.db import connection
from playwright.sync_api import FloatRect, Page, sync_playwright

from tests.review_support import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
SETTLE_SECONDS = 0.5
T = TypeVar("T")


@contextmanager
def browser_page(width: int = 1280, height: int = 800) -> Iterator[Page]:
    """One headless chromium page, closed (with its browser) when the block ends; another tab
    of the same browser session is `page.context.new_page()`."""
    # A missing chromium fails the test, never skips it: `make test` installs it first.
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run bin/system-packages"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()
            # The pages' last requests (the leaving beacon, a heartbeat) are still being served
            # by the live server's threads: let them finish and close their database connections
            # before the server and the test database go away.
            time.sleep(SETTLE_SECONDS)


def drawn_boxes(page: Page) -> list[list[float]]:
    """The boxes drawn over the image, as [x1, y1, x2, y2] in image pixels."""
    return page.evaluate(
        """Array.from(document.querySelectorAll('#boxes g.box rect.outline')).map(r => {
            const [x, y, w, h] = ['x', 'y', 'width', 'height'].map(a => Number(r.getAttribute(a)));
            return [x, y, x + w, y + h];
        })"""
    )


def label_rects(page: Page) -> list[FloatRect]:
    """The screen rectangles of the labels drawn over the image."""
    rects = page.locator("#labels g.label rect")
    found = []
    for index in range(rects.count()):
        box = rects.nth(index).bounding_box()
        assert box is not None, f"label {index + 1} is not drawn"
        found.append(box)
    return found


def sign_in(page: Page, base_url: str, username: str = "rita") -> None:
    """Through the login form; ends on the queue."""
    page.goto(f"{base_url}/review/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/review/")


def wait_for_task_page(page: Page) -> None:
    """Until the boxes are drawn over a loaded image and decisions are taken (the page ignores
    decision keys for a moment after the image appears)."""
    page.locator("g.box rect.outline").first.wait_for()
    page.wait_for_function("document.querySelector('#viewer image').getBBox().width > 0")
    page.wait_for_selector("body[data-armed=true]", state="attached")


def drag_first_box(page: Page, offset: tuple[float, float]) -> float:
    """Drag the first box by `offset` screen pixels with the mouse, as a reviewer does (select
    it, then grab its left edge: inside a box a drag pans); return how many image pixels one
    screen pixel covers (the box moves by offset times that)."""
    page.click("#box-list li[data-index='0'] button.link")
    edge = page.locator("g.box.selected rect.edge")
    area = edge.bounding_box()
    assert area is not None
    scale = float(edge.get_attribute("width") or 0) / area["width"]
    x, y = area["x"] + 1, area["y"] + area["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + offset[0] / 2, y + offset[1] / 2, steps=3)
    page.mouse.move(x + offset[0], y + offset[1], steps=3)
    page.mouse.up()
    page.wait_for_selector("#box-list >> text=✎")  # the page marks the box as edited
    return scale


def on_database(call: Callable[[], T]) -> T:
    """Run `call` (database reads and writes) while a page is open, in a thread of its own that
    closes its connection after: Playwright's sync API keeps an event loop running in the
    test's thread, where Django would refuse the calls (or, told to allow them, open a
    connection in the loop's context that nothing closes)."""

    def run() -> T:
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
