"""Reviewer seconds per task (issue 17, point 6): a scripted browser session does the work for
real (plain accept, fix one box, reject; single mode and grid mode) and the keystroke-level
model in tests/review_speed.py adds the person's time. Prints the table, writes it to
artifacts/review-speed.json (the README's table comes from it) and checks what must hold: the
next image shows quickly and grid mode beats single mode for plain accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests import images
from tests.review_browser_support import (
    browser_page,
    on_database,
    sign_in,
    wait_for_task_page,
)
from tests.review_speed import GRID_TILES, Flow, run_from_grid, run_grid_accept, run_single, table
from tests.review_support import make_task

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PER_FLOW = 5
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root")]


def make_tasks(facility: Any, count: int, photo: bytes) -> None:
    boxes = [(0, 0.42, [100.0, 100.0, 300.0, 250.0]), (1, 0.9, [350.0, 80.0, 450.0, 130.0])]
    for _ in range(count):
        make_task(facility, boxes=boxes, data=photo, size=(640, 480))


def armed(page: Page) -> None:
    if page.locator("#viewer").count():
        wait_for_task_page(page)
    else:
        page.wait_for_selector("body[data-armed=true]", state="attached")


@pytest.mark.django_db(transaction=True)
def test_reviewer_seconds_per_task_single_and_grid(
    live_server: Any, facility: Any, reviewer: Any
) -> None:
    photo = images.photo_jpeg(640, 480)
    flows = [Flow(name, "single") for name in ("accept", "fix one box", "reject")]
    with browser_page(1920, 1080) as page:
        sign_in(page, live_server.url)
        # One more than decided: each flow ends on a task page.
        on_database(lambda: make_tasks(facility, PER_FLOW * len(flows) + 1, photo))
        page.click("text=Next task")
        for flow in flows:
            run_single(page, flow, PER_FLOW, armed)
        page.click("text=Release to the queue")

        grid = Flow("accept", "grid")
        # With the one released: a full grid, and a second one that comes after accepting it
        # (where the fixes and rejects are opened from).
        on_database(lambda: make_tasks(facility, 2 * GRID_TILES - 1, photo))
        page.goto(f"{live_server.url}/review/grid/")
        run_grid_accept(page, grid, armed)
        from_grid = []
        for name in ("fix one box", "reject"):
            page.goto(f"{live_server.url}/review/grid/")
            flow = Flow(f"{name} (from grid)", "grid")
            run_from_grid(page, flow, PER_FLOW, armed)
            from_grid.append(flow)

    rows = table([*flows, grid, *from_grid])
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "review-speed.json").write_text(json.dumps(rows, indent=2))
    print()
    for row in rows:
        print(row)
    single_accept, grid_accept = flows[0], grid
    assert len(grid_accept.system) == GRID_TILES
    assert grid_accept.median < single_accept.median / 2
    assert max(single_accept.system) < 2.0  # the next image is on screen within 2 s
    assert flows[0].median < flows[2].median < flows[1].median  # accept < reject < fix
