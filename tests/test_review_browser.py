"""The task page in a real browser (Debian's chromium driven by Playwright, never a downloaded
one): sign in, claim the next task, drag a box to a new place, accept with the keyboard, and
check the stored result and the audit row. Leaves a screenshot in artifacts/."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from inspection.models import Detection, Image, ReviewDecision
from tests import images
from tests.review_browser_support import (
    browser_page,
    drag_first_box,
    sign_in,
    wait_for_task_page,
)
from tests.review_support import make_task

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
BOX = [100.0, 100.0, 300.0, 250.0]

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root")]


def review_in_browser(base_url: str, drag: tuple[int, int]) -> dict[str, float]:
    """Drive the whole path; return what it measured (seconds)."""
    timings: dict[str, float] = {}
    with browser_page() as page:
        sign_in(page, base_url)

        started = time.perf_counter()
        page.click("text=Next task")
        wait_for_task_page(page)
        timings["claim_and_load_s"] = time.perf_counter() - started

        timings["image_px_per_screen_px"] = drag_first_box(page, drag)
        page.wait_for_selector("text=parcel ✎")

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "review-task-page.png"
        page.screenshot(path=str(shot))
        print(f"\nscreenshot: {shot}")

        started = time.perf_counter()
        page.keyboard.press("a")
        page.wait_for_url(f"{base_url}/review/")
        timings["accept_s"] = time.perf_counter() - started
    return timings


@pytest.mark.django_db(transaction=True)
def test_a_reviewer_drags_a_box_and_accepts_with_the_keyboard(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    task = make_task(
        facility,
        boxes=[(0, 0.31, BOX)],
        data=images.photo_jpeg(640, 480),
        size=(640, 480),
    )
    timings = review_in_browser(live_server.url, drag=(60, 40))
    print(f"timings: {timings}")

    image = Image.objects.get(pk=task.image_id)
    assert (image.status, image.verdict, image.reviewed_by) == ("accepted", "accepted", reviewer)
    (final,) = Detection.objects.filter(image=image, source="reviewer")
    # The drag was in screen pixels; the box moved by as many image pixels as they cover.
    scale = timings["image_px_per_screen_px"]
    assert final.x1 - BOX[0] == pytest.approx(60 * scale, abs=2 * scale + 1)
    assert final.y1 - BOX[1] == pytest.approx(40 * scale, abs=2 * scale + 1)
    assert (final.x2 - final.x1, final.y2 - final.y1) == pytest.approx((200, 150), abs=0.05)
    (model_box,) = Detection.objects.filter(image=image, source="model")
    assert model_box.as_box() == BOX  # the model's answer stays as it was
    decision = ReviewDecision.objects.get(task=task)
    assert (decision.action, decision.decided_by, decision.changed_classes) == (
        "correct",
        reviewer,
        ["parcel"],
    )
    assert decision.before["boxes"][0]["box"] == BOX
    assert decision.after["boxes"][0]["box"] == final.as_box()
