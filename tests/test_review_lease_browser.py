"""The task page never lies about the lease and edits survive (issue 17, point 2), in Debian's
chromium: a reload keeps the task and brings the draft back; Back after a decision shows the
decided task as decided and Forward finds the next task still held; a lost lease shows within
10 s; an expired session sends the reviewer to sign in and back to the task with the draft; a
sign-in in another tab does not turn the next decision into a 403."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import Page

from inspection.models import Detection, ReviewDecision, ReviewTask
from tests import images
from tests.review_browser_support import (
    browser_page,
    drag_first_box,
    drawn_boxes,
    on_database,
    sign_in,
    wait_for_task_page,
)
from tests.review_support import PASSWORD, make_member, make_task, next_claimed

BOX = [100.0, 100.0, 300.0, 250.0]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root")]


def photo_task(facility: Any, confidence: float, name: str) -> ReviewTask:
    photo = images.photo_jpeg(640, 480)
    return make_task(facility, boxes=[(0, confidence, BOX)], data=photo, size=(640, 480), name=name)


def taken_over(task: ReviewTask, facility: Any) -> int:
    """The lease passes (released, as if it ran out) and a colleague claims the task."""
    ReviewTask.objects.filter(pk=task.pk).update(status="open", claimed_by=None)
    return next_claimed(make_member("carl", facility)).pk


def claim_first(page: Page, base_url: str) -> None:
    sign_in(page, base_url)
    page.click("text=Next task")
    wait_for_task_page(page)


def lease_of(task: ReviewTask) -> tuple[str, Any]:
    stored = ReviewTask.objects.get(pk=task.pk)
    return stored.status, stored.claimed_by


@pytest.mark.django_db(transaction=True)
def test_reload_back_and_forward_tell_the_truth_and_keep_the_edits(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    first = photo_task(facility, 0.2, "first.jpg")
    second = photo_task(facility, 0.3, "second.jpg")
    with browser_page() as page:
        claim_first(page, live_server.url)
        drag_first_box(page, (60, 40))
        edited = drawn_boxes(page)
        assert edited[0] != BOX

        page.reload()  # the leaving beacon keeps the task for a few seconds: still ours
        wait_for_task_page(page)
        assert page.inner_text("#lease").startswith("Yours for")
        assert "Your unsaved edits from" in page.inner_text("#notice")
        assert drawn_boxes(page) == edited  # the draft came back
        assert on_database(lambda: lease_of(first)) == ("claimed", reviewer)

        page.keyboard.press("a")
        page.wait_for_url(f"{live_server.url}/review/tasks/{second.pk}/")
        wait_for_task_page(page)

        page.go_back()  # the decided task: shown decided, never editable
        assert "Decided" in page.inner_text("#lease")
        assert page.locator("#accept-form").count() == 0
        assert page.locator("#boxes g.box rect.handle").count() == 0

        page.go_forward()  # the next task is still ours (reserved while we looked back)
        wait_for_task_page(page)
        assert page.inner_text("#lease").startswith("Yours for")
        assert on_database(lambda: lease_of(second)) == ("claimed", reviewer)
        page.keyboard.press("a")
        page.wait_for_url(f"{live_server.url}/review/")

    (final,) = Detection.objects.filter(image=first.image, source="reviewer")
    assert final.as_box() == pytest.approx(edited[0], abs=0.01)


@pytest.mark.django_db(transaction=True)
def test_a_lost_lease_shows_within_ten_seconds(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    task = photo_task(facility, 0.2, "taken.jpg")
    with browser_page() as page:
        claim_first(page, live_server.url)
        drag_first_box(page, (30, 20))
        assert on_database(lambda: taken_over(task, facility)) == task.pk
        taken = time.monotonic()
        page.wait_for_selector("#lease.lost", timeout=10_000)
        shown_after = time.monotonic() - taken
        text = page.inner_text("#lease")
        assert "carl is reviewing it" in text and "Your edits are kept" in text
        assert page.locator("#accept").is_disabled()
        print(f"\nlease loss shown after {shown_after:.1f} s")
    assert shown_after <= 10


@pytest.mark.django_db(transaction=True)
def test_an_expired_session_signs_in_again_and_comes_back_with_the_draft(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    task = photo_task(facility, 0.2, "session.jpg")
    with browser_page() as page:
        claim_first(page, live_server.url)
        drag_first_box(page, (-40, 30))
        edited = drawn_boxes(page)
        on_database(lambda: Session.objects.all().delete())  # the session expires
        page.wait_for_selector("#notice >> text=You are signed out", timeout=10_000)

        page.keyboard.press("a")  # the decision goes to the sign-in page, not to a 403/405
        page.wait_for_url(f"**/accounts/login/?next=%2Freview%2Ftasks%2F{task.pk}%2F")
        page.fill("input[name=username]", "rita")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{live_server.url}/review/tasks/{task.pk}/")
        wait_for_task_page(page)
        assert drawn_boxes(page) == edited  # the draft, restored on the task page
        page.keyboard.press("a")
        page.wait_for_url(f"{live_server.url}/review/")

    (final,) = Detection.objects.filter(image=task.image, source="reviewer")
    assert final.as_box() == pytest.approx(edited[0], abs=0.01)


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_in_another_tab_does_not_lose_the_decision(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    task = photo_task(facility, 0.2, "tabs.jpg")
    with browser_page() as page:
        claim_first(page, live_server.url)
        drag_first_box(page, (50, -30))
        edited = drawn_boxes(page)
        other = page.context.new_page()  # same browser: the sign-in replaces the CSRF token
        other.goto(f"{live_server.url}/accounts/login/")
        other.fill("input[name=username]", "rita")
        other.fill("input[name=password]", PASSWORD)
        other.click("main button[type=submit]")
        other.wait_for_url(f"{live_server.url}/review/")
        other.close()

        page.bring_to_front()
        page.click("#accept")
        page.wait_for_url(f"{live_server.url}/review/")
        assert "session.jpg" not in page.content()

    decision = ReviewDecision.objects.get(task=task)
    assert decision.action == "correct"
    (final,) = Detection.objects.filter(image=task.image, source="reviewer")
    assert final.as_box() == pytest.approx(edited[0], abs=0.01)
