"""The task page as a reviewer uses it, in Debian's chromium (issue 17, points 3-5 and the
double-press bug): uncertain boxes first, numbered alike in the list and on the image, with
their thresholds; labels that never overlap on nested and edge boxes at 1920x1080 and 1366x768;
keys for labels, boxes, opacity, brightness and contrast; Accept on screen with 60 boxes; a box
drawn from the keyboard; a pan that moves no box; Esc closing the reject form from its comment;
skip and undo by key; the next image fetched ahead; and a second `a` that lands on the next
task accepting nothing. Leaves screenshots in artifacts/."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import FloatRect, Page

from inspection.models import Detection, Image, ReviewDecision, ReviewTask
from tests import images
from tests.review_browser_support import (
    browser_page,
    drawn_boxes,
    label_rects,
    on_database,
    sign_in,
    wait_for_task_page,
)
from tests.review_support import make_task

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
SIZE = (640, 480)
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root")]

# Nested boxes sharing a corner, boxes on every edge and a tight cluster: labels would collide.
CROWDED = [
    (0, 0.44, [0.0, 0.0, 640.0, 480.0]),
    (1, 0.93, [20.0, 20.0, 200.0, 100.0]),
    (1, 0.47, [22.0, 22.0, 190.0, 90.0]),
    (2, 0.58, [300.0, 0.0, 400.0, 50.0]),
    (2, 0.71, [560.0, 200.0, 640.0, 300.0]),
    (0, 0.66, [100.0, 430.0, 300.0, 480.0]),
    (1, 0.52, [400.0, 300.0, 440.0, 330.0]),
    (1, 0.81, [405.0, 305.0, 445.0, 335.0]),
    (2, 0.35, [410.0, 310.0, 450.0, 340.0]),
]


def photo_task(facility: Any, boxes: Any, name: str, **fields: Any) -> ReviewTask:
    data = images.photo_jpeg(*SIZE)
    return make_task(facility, boxes=boxes, data=data, size=SIZE, name=name, **fields)


def open_next(page: Page, base_url: str) -> None:
    sign_in(page, base_url)
    page.click("text=Next task")
    wait_for_task_page(page)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def overlapping(rects: list[FloatRect]) -> list[tuple[int, int]]:
    def meets(a: FloatRect, b: FloatRect) -> bool:
        return (
            a["x"] + 0.5 < b["x"] + b["width"]
            and b["x"] + 0.5 < a["x"] + a["width"]
            and a["y"] + 0.5 < b["y"] + b["height"]
            and b["y"] + 0.5 < a["y"] + a["height"]
        )

    pairs = itertools.combinations(range(len(rects)), 2)
    return [(i, j) for i, j in pairs if meets(rects[i], rects[j])]


@pytest.mark.parametrize("viewport", [(1920, 1080), (1366, 768)])
@pytest.mark.django_db(transaction=True)
def test_uncertain_boxes_come_first_and_labels_never_overlap(
    live_server: Any, facility: Any, reviewer: Any, viewport: tuple[int, int]
) -> None:
    reasons = ["low_confidence:damage", "low_confidence:label", "low_confidence:parcel"]
    photo_task(facility, CROWDED, "crowded.jpg", reasons=reasons)
    with browser_page(*viewport) as page:
        open_next(page, live_server.url)
        rows = page.locator("#box-list li")
        assert rows.count() == len(CROWDED)
        first = rows.nth(0)
        # Below their thresholds (0.5, damage 0.6), lowest first: damage 0.35, parcel 0.44,
        # label 0.47, damage 0.58; the first is selected when the task opens.
        assert first.locator(".number").inner_text() == "1"
        assert first.locator(".confidence").inner_text() == "0.35 / thr 0.60"
        assert "selected" in (first.get_attribute("class") or "")
        below = [rows.nth(i).locator(".tag.below").count() for i in range(rows.count())]
        assert below == [1, 1, 1, 1, 0, 0, 0, 0, 0]
        names = [rows.nth(i).locator("button.link").inner_text() for i in range(4)]
        assert names == ["damage", "parcel", "label", "damage"]
        labels = page.eval_on_selector_all(
            "#labels g.label text", "texts => texts.map(t => t.textContent)"
        )
        numbers = sorted(int(text.split(":")[0]) for text in labels)
        assert numbers == list(range(1, len(CROWDED) + 1))  # the same numbers as the list
        assert "1: damage 0.35 ▼" in labels

        assert overlapping(label_rects(page)) == []
        image = page.locator("#photo").bounding_box()
        assert image is not None
        for rect in label_rects(page):
            assert (
                image["x"] - 0.5 <= rect["x"] <= image["x"] + image["width"] - rect["width"] + 0.5
            )
            assert (
                image["y"] - 0.5 <= rect["y"] <= image["y"] + image["height"] - rect["height"] + 0.5
            )
        screenshot(page, f"review-labels-{viewport[0]}x{viewport[1]}.png")

        page.keyboard.press("z")  # zoomed in, labels are laid out again and still apart
        assert overlapping(label_rects(page)) == []


@pytest.mark.django_db(transaction=True)
def test_view_keys_and_accept_on_screen_with_many_boxes(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    many = [
        (
            n % 3,
            0.2 + n / 100,
            [10.0 * (n % 10), 40.0 * (n // 10), 10.0 * (n % 10) + 60, 40.0 * (n // 10) + 30],
        )
        for n in range(60)
    ]
    photo_task(facility, many, "many.jpg")
    with browser_page(1366, 768) as page:
        open_next(page, live_server.url)
        accept = page.locator("#accept").bounding_box()
        assert accept is not None and accept["y"] + accept["height"] <= 768  # no scrolling needed
        page.keyboard.press("l")
        assert page.locator("#labels").evaluate("g => getComputedStyle(g).display") == "none"
        page.keyboard.press("l")
        page.keyboard.press("h")
        assert page.locator("#boxes").evaluate("g => getComputedStyle(g).display") == "none"
        page.keyboard.press("h")
        page.keyboard.press("o")
        assert page.locator("#boxes").evaluate("g => getComputedStyle(g).opacity") == "0.6"
        page.keyboard.press("i")
        page.keyboard.press("i")
        page.keyboard.press("c")
        assert (
            page.locator("#photo").evaluate("i => i.style.filter") == "brightness(2) contrast(1.5)"
        )
        assert page.input_value("#brightness") == "2"
        screenshot(page, "review-many-boxes-1366x768.png")


@pytest.mark.django_db(transaction=True)
def test_draw_from_the_keyboard_pan_moves_no_box_and_esc_closes_the_reject_form(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    task = photo_task(facility, [(0, 0.31, [100.0, 100.0, 500.0, 400.0])], "draw.jpg")
    with browser_page() as page:
        open_next(page, live_server.url)
        before = drawn_boxes(page)
        # Drag from the middle of the big selected box: the view pans, the box stays.
        area = page.locator("g.box.selected rect.outline").bounding_box()
        assert area is not None
        x, y = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2
        view = page.get_attribute("#viewer", "viewBox")
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 80, y + 50, steps=4)
        page.mouse.up()
        assert page.get_attribute("#viewer", "viewBox") != view
        assert drawn_boxes(page) == before
        page.keyboard.press("0")

        page.keyboard.press("r")
        page.keyboard.press("Tab")
        page.keyboard.type("no")
        assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
        page.keyboard.press("Escape")
        assert page.evaluate("document.getElementById('reject').open") is False

        page.keyboard.press("b")
        page.keyboard.press("Enter")  # a box in the middle of the view, a quarter of its size
        boxes = drawn_boxes(page)
        assert len(boxes) == 2 and boxes[1] == pytest.approx([240, 180, 400, 300], abs=0.01)
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("Alt+ArrowDown")
        assert drawn_boxes(page)[1] == pytest.approx([250, 180, 410, 301], abs=0.01)
        page.keyboard.press("3")  # damage
        page.keyboard.press("a")
        page.wait_for_url(f"{live_server.url}/review/")

    stored = Detection.objects.filter(image=task.image, source="reviewer").order_by("x1")
    assert [(d.class_name, d.as_box()) for d in stored] == [
        ("parcel", [100.0, 100.0, 500.0, 400.0]),
        ("damage", pytest.approx([250, 180, 410, 301], abs=0.01)),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_second_press_on_the_next_task_accepts_nothing_and_skip_and_undo_work_by_key(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    first = photo_task(facility, [(0, 0.1, [50.0, 50.0, 200.0, 200.0])], "first.jpg")
    second = photo_task(facility, [(0, 0.2, [50.0, 50.0, 200.0, 200.0])], "second.jpg")
    third = photo_task(facility, [(0, 0.3, [50.0, 50.0, 200.0, 200.0])], "third.jpg")
    upcoming = f"/review/images/{second.image_id}/image.jpg"
    with browser_page() as page:
        # The next task's image is fetched while the first is on screen.
        with page.expect_request(lambda request: request.url.endswith(upcoming)):
            open_next(page, live_server.url)
        page.keyboard.press("a")
        page.wait_for_url(f"{live_server.url}/review/tasks/{second.pk}/")
        page.keyboard.press("a")  # the double press, landing as the next page appears
        page.keyboard.down("a")  # and a key held down: repeats
        page.keyboard.down("a")
        page.keyboard.up("a")
        armed_at = time.monotonic()
        page.wait_for_selector("body[data-armed=true]", state="attached")
        print(f"\ndecisions taken {time.monotonic() - armed_at:.2f} s after the page appeared")
        page.wait_for_timeout(300)
        assert page.url == f"{live_server.url}/review/tasks/{second.pk}/"
        assert on_database(lambda: ReviewTask.objects.get(pk=second.pk).status) == "claimed"

        page.keyboard.press("s")  # skip: a different task comes
        page.wait_for_url(f"{live_server.url}/review/tasks/{third.pk}/")
        wait_for_task_page(page)
        page.keyboard.press("a")
        page.wait_for_url(f"{live_server.url}/review/")  # only the skipped one is left
        assert "third.jpg" in page.inner_text("#undo-form")
        page.keyboard.press("Shift+U")
        page.wait_for_url(f"{live_server.url}/review/tasks/{third.pk}/")
        wait_for_task_page(page)
        assert page.inner_text("#lease").startswith("Yours for")

    assert ReviewDecision.objects.get(task=first).action == "accept"
    assert not ReviewDecision.objects.filter(task=second).exists()
    assert list(ReviewDecision.objects.filter(task=third).values_list("action", flat=True)) == [
        "undo",
        "accept",
    ]
    assert Image.objects.get(pk=third.image_id).status == "needs_review"
