"""Grid mode in Debian's chromium: thumbnails with their boxes, selected by click and keyboard,
accepted together with one decision per image; a mixed queue shows only the low-confidence-only
images. Leaves a screenshot in artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inspection.models import ReviewDecision, ReviewTask
from tests import images
from tests.review_browser_support import (
    browser_page,
    sign_in,
)
from tests.review_support import make_task

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root")]


@pytest.mark.django_db(transaction=True)
def test_a_reviewer_accepts_a_selection_of_the_grid(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    photo = images.photo_jpeg(640, 480)
    boxes = [(0, 0.42, [100.0, 100.0, 300.0, 250.0]), (1, 0.9, [350.0, 80.0, 450.0, 130.0])]
    grid = [
        make_task(facility, boxes=boxes, data=photo, size=(640, 480), name=f"{n}.jpg")
        for n in range(5)
    ]
    dark = make_task(facility, reasons=["low_confidence:parcel", "quality:too_dark"])
    with browser_page(1366, 768) as page:
        sign_in(page, live_server.url)
        page.click("text=Grid mode")
        page.wait_for_selector(".tile")
        assert page.locator(".tile").count() == 5  # the quality-flagged one is not here
        assert page.locator(".thumb rect.below").count() == 5  # each image's unsure parcel
        page.locator(".tile").nth(1).click()  # by mouse
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Space")  # by keyboard: two tiles on, the fourth
        assert page.inner_text("#selected-count") == "2 of 5 selected"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "review-grid-1366x768.png"))
        # Decisions wait until the thumbnails have been on screen a moment.
        page.wait_for_selector("body[data-armed=true]", state="attached")
        page.keyboard.press("a")
        page.wait_for_selector("text=Accepted 2 image(s).")
        assert page.locator(".tile").count() == 3  # the unselected stay; none left to add

    accepted = sorted(grid[n].pk for n in (1, 3))
    decisions = ReviewDecision.objects.filter(action="accept")
    assert sorted(d.task_id for d in decisions) == accepted
    assert ReviewTask.objects.get(pk=dark.pk).status == "open"
    assert {
        t.status for t in ReviewTask.objects.filter(pk__in=[grid[n].pk for n in (0, 2, 4)])
    } == {"claimed"}
