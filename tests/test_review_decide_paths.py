"""Every way to decide on the task page sends the same decision (issue 17): after a box is
dragged, a mouse click on Accept, Space or Enter on the focused button, the `a` key and `Enter`
with nothing focused all store the reviewer's boxes, and a reject by mouse or by keyboard stores
its verdict and reason. Each sends one decision (two clicks too). One browser session walks
the paths in turn (each decision opens the next claimed task); the results are read back through
the REST API."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, Route

from inspection.models import ReviewDecision, ReviewTask
from tests import images
from tests.conftest import make_api_key
from tests.review_browser_support import (
    browser_page,
    drag_first_box,
    sign_in,
    wait_for_task_page,
)
from tests.review_support import make_task

BOX = [100.0, 100.0, 300.0, 250.0]  # the model's one parcel, in a 640x480 photo

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root")]


def click_accept(page: Page) -> None:
    page.click("#accept")


def click_accept_twice(page: Page) -> None:
    """The second click comes while the first decision is still on its way (held here), when a
    second form submission would really go out; the page must drop it."""
    held: list[Route] = []
    page.route("**/decide/", lambda route: held.append(route))
    area = page.locator("#accept").bounding_box()
    assert area is not None
    x, y = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2
    with page.expect_request("**/decide/"):
        page.mouse.click(x, y)  # the mouse itself: page.click would wait for the held request
    page.mouse.click(x, y)
    page.wait_for_timeout(300)  # time for a second request to go out, were it sent
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/decide/")


def focus_accept(page: Page) -> None:
    page.focus("#accept")
    assert page.evaluate("document.activeElement.id") == "accept"


def space_on_accept(page: Page) -> None:
    focus_accept(page)
    page.keyboard.press("Space")


def enter_on_accept(page: Page) -> None:
    focus_accept(page)
    page.keyboard.press("Enter")


def a_key(page: Page) -> None:
    page.keyboard.press("a")


def enter_key(page: Page) -> None:
    page.evaluate("document.activeElement.blur()")
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("Enter")


def click_reject(page: Page) -> None:
    page.click("#reject summary")
    page.select_option("#reject-reason", "ambiguous")
    page.fill("#reject-form textarea[name=comment]", "two labels overlap")
    page.click("#reject-form button[type=submit]")


def reject_by_keyboard(page: Page) -> None:
    page.keyboard.press("r")  # opens the reject form with its reason focused
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.input_value("#reject-reason") == "no_package"
    page.keyboard.press("Enter")


@dataclass(frozen=True)
class Path:
    name: str
    decide: Callable[[Page], None]
    offset: tuple[int, int]  # screen pixels; each path its own, so a mix-up shows
    reason: str = ""  # a reject's; blank for an accept
    comment: str = ""


PATHS = [
    Path("click Accept", click_accept, (60, 40)),
    Path("Space on Accept", space_on_accept, (-50, 30)),
    Path("Enter on Accept", enter_on_accept, (40, -45)),
    Path("a key", a_key, (-35, -25)),
    Path("Enter key", enter_key, (70, 20)),
    Path("click Reject", click_reject, (30, 60), "ambiguous", "two labels overlap"),
    Path("r, reason, Enter", reject_by_keyboard, (-60, -30), "no_package"),
    Path("click Accept twice", click_accept_twice, (-25, 50)),
]


@dataclass(frozen=True)
class Walked:
    path: Path
    task_id: int
    scale: float  # image pixels per screen pixel


def task_id_in(url: str) -> int:
    found = re.search(r"/review/tasks/(\d+)/$", url)
    assert found, f"not a task page: {url}"
    return int(found.group(1))


def url_other_than(before: str) -> Callable[[str], bool]:
    return lambda url: url != before


def walk(base_url: str, names: dict[int, str]) -> list[Walked]:
    """Claim the first task, then on each task page drag the box and decide by the next path;
    the server opens the next claimed task after each decision, the queue after the last."""
    walked = []
    with browser_page() as page:
        sign_in(page, base_url)
        page.click("text=Next task")
        decisions_sent: list[str] = []
        page.on("request", lambda r: decisions_sent.append(r.url) if r.method == "POST" else None)
        for path in PATHS:
            wait_for_task_page(page)
            task_id = task_id_in(page.url)
            scale = drag_first_box(page, path.offset)
            before, decisions_sent[:] = page.url, []
            path.decide(page)
            page.wait_for_url(url_other_than(before))
            assert decisions_sent == [f"{before}decide/"], path.name  # one decision, this task's
            action = "reject" if path.reason else "correct"
            assert page.inner_text(".messages") == f"{names[task_id]}: {action}.", path.name
            walked.append(Walked(path, task_id, scale))
        assert page.url == f"{base_url}/review/"
    return walked


def api_image(base_url: str, key: str, batch_id: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/batches/{batch_id}/images/",
        headers={"Authorization": f"Api-Key {key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        (image,) = json.load(answer)["results"]
    return image


def assert_moved(box: list[float], walked: Walked) -> None:
    """Moved by the drag (screen pixels times the scale), same size."""
    dx, dy = walked.path.offset
    tolerance = 2 * walked.scale + 1
    assert box[0] - BOX[0] == pytest.approx(dx * walked.scale, abs=tolerance), walked.path.name
    assert box[1] - BOX[1] == pytest.approx(dy * walked.scale, abs=tolerance), walked.path.name
    assert (box[2] - box[0], box[3] - box[1]) == pytest.approx((200, 150), abs=0.05)


def assert_stored(image: dict[str, Any], walked: Walked) -> None:
    review, name = image["review"], walked.path.name
    assert review["decided_by"] == "rita", name
    assert review["model_detections"][0]["box"] == BOX, name  # the model's answer is kept
    if walked.path.reason:  # a reject stores no boxes, by design
        assert (image["status"], review["verdict"], image["detections"]) == (
            "rejected",
            "rejected",
            [],
        ), name
        assert (review["reason"], review["comment"]) == (walked.path.reason, walked.path.comment)
        return
    assert (image["status"], review["verdict"]) == ("accepted", "accepted"), name
    (detection,) = image["detections"]
    assert (detection["class_name"], detection["confidence"]) == ("parcel", None), name
    assert_moved(detection["box"], walked)


@pytest.mark.django_db(transaction=True)
def test_every_way_to_decide_stores_the_reviewers_boxes(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    photo = images.photo_jpeg(640, 480)
    tasks = [
        make_task(facility, boxes=[(0, 0.31, BOX)], data=photo, size=(640, 480), name=f"{n}.jpg")
        for n in range(len(PATHS))
    ]
    names = {task.pk: task.image.original_name for task in tasks}
    batches = {task.pk: task.image.batch_id for task in tasks}
    key = make_api_key(facility)

    walked = walk(live_server.url, names)

    assert sorted(w.task_id for w in walked) == sorted(names)  # each path decided its own task
    for step in walked:
        assert_stored(api_image(live_server.url, key, batches[step.task_id]), step)
        decision = ReviewDecision.objects.get(task_id=step.task_id)
        expected = ("reject", []) if step.path.reason else ("correct", ["parcel"])
        assert (decision.action, decision.changed_classes) == expected, step.path.name
    assert set(ReviewTask.objects.values_list("status", flat=True)) == {"done"}
