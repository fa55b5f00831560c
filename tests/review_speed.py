"""Reviewer seconds per task, measured with a scripted browser session (Debian's chromium) plus a
stated keystroke-level model (Card, Moran and Newell's KLM) of the person.

Per task: model seconds (the person looking, deciding, pressing keys, pointing) + measured
seconds (the system: from the decision key until the next image is on screen). The browser
really performs every key and drag; the model adds the human time the script does not wait for.
The page's 0.4 s pause before decision keys work is not added: it runs while the person looks.

Model (seconds): K keystroke 0.28 (average typist), P point with the mouse 1.1, B mouse button
press or release 0.1, H hand between keyboard and mouse 0.4, M mental preparation 1.35; LOOK
judging one image with its boxes 1.5; GLANCE judging one grid thumbnail 0.6 (assumptions)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.sync_api import Page

OPERATORS = {"K": 0.28, "P": 1.1, "B": 0.1, "H": 0.4, "M": 1.35, "LOOK": 1.5, "GLANCE": 0.6}
GRID_TILES = 12

# What the person does per task, operator by operator (grid accept: per grid, shared by 12).
# CLICK: point and click; DRAG: point, press, move, release.
CLICK, DRAG = "P B B", "P B P B"
HUMAN = {
    "accept": "LOOK M K".split(),  # a
    # the uncertain box is already selected: grab its edge and drag it, back to the keys, a
    "fix one box": f"LOOK M H {DRAG} H M K".split(),
    "reject": "LOOK M K M K K K".split(),  # r, two arrows to the reason, Enter
    "grid accept": ["GLANCE"] * GRID_TILES + "M K K".split(),  # look over the grid, *, a
    "open from grid": "K K".split(),  # arrow to the tile, o
}
# The same work in the other tools' documented flows (keys and screens per task, no system
# time: theirs was not measured). Label Studio: the label stream, predictions shown as the
# starting annotation, Submit = Ctrl+Enter; a reject needs a choice in the labeling config
# (a click) before Submit. CVAT: a job's frames, F = next frame (saving with Ctrl+S), edits by
# dragging; no per-image verdict: a bad image gets an issue (right click, "Open an issue",
# draw it, type, submit), acceptance is per job.
OTHERS = {
    ("Label Studio", "accept"): "LOOK M K K".split(),  # Ctrl+Enter
    ("Label Studio", "fix one box"): f"LOOK M H {CLICK} {DRAG} H M K K".split(),
    ("Label Studio", "reject"): f"LOOK M H {CLICK} H M K K".split(),
    ("CVAT", "accept"): "LOOK M K".split(),  # F
    ("CVAT", "fix one box"): f"LOOK M H {CLICK} {DRAG} H M K".split(),
    ("CVAT", "reject"): f"LOOK M H {CLICK} P B {DRAG} M K K K K {CLICK} H K".split(),
}
SCREENS = {
    "Label Studio": "label stream: 1 screen per task, next task after Submit",
    "CVAT": "job annotation view: 1 screen per frame; verdicts per job, not per image",
}


def model_seconds(operators: list[str]) -> float:
    return sum(OPERATORS[op] for op in operators)


def keys_of(operators: list[str]) -> int:
    return operators.count("K") + operators.count("B") // 2


@dataclass
class Flow:
    name: str
    mode: str
    system: list[float] = field(default_factory=list)  # measured seconds per task
    human: float = 0.0  # model seconds per task

    @property
    def median(self) -> float:
        return self.human + statistics.median(self.system)


def timed(page: Page, act: Callable[[], None]) -> float:
    """Seconds from the last key of `act` until the next page shows its image(s) decoded."""
    started = time.perf_counter()
    with page.expect_navigation():  # to the next task, or the same grid URL reloaded
        act()
    page.wait_for_selector("body[data-shown=true]", state="attached")
    return time.perf_counter() - started


def drag_selected_edge(page: Page, offset: tuple[int, int]) -> None:
    edge = page.locator("g.box.selected rect.edge").bounding_box()
    assert edge is not None
    x, y = edge["x"] + 1, edge["y"] + edge["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + offset[0], y + offset[1], steps=4)
    page.mouse.up()


def reject_keys(page: Page) -> None:
    page.keyboard.press("r")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")


def run_single(page: Page, flow: Flow, tasks: int, armed: Callable[[Page], None]) -> None:
    for _ in range(tasks):
        armed(page)
        if flow.name == "fix one box":
            drag_selected_edge(page, (40, 25))
        if flow.name == "reject":
            reject_keys(page)
            flow.system.append(timed(page, lambda: page.keyboard.press("Enter")))
        else:
            flow.system.append(timed(page, lambda: page.keyboard.press("a")))
    flow.human = model_seconds(HUMAN[flow.name])


def run_grid_accept(page: Page, flow: Flow, armed: Callable[[Page], None]) -> None:
    armed(page)
    tiles = page.locator(".tile").count()
    page.keyboard.press("*")
    seconds = timed(page, lambda: page.keyboard.press("a"))
    flow.system += [seconds / tiles] * tiles
    flow.human = model_seconds(HUMAN["grid accept"]) / GRID_TILES


def run_from_grid(page: Page, flow: Flow, tasks: int, armed: Callable[[Page], None]) -> None:
    """Open a grid tile in single mode (o), then fix or reject it; the next task is the next
    grid image, in single mode."""
    armed(page)
    opening = timed(page, lambda: page.keyboard.press("o"))
    single = Flow(flow.name.replace(" (from grid)", ""), "single")
    run_single(page, single, tasks, armed)
    flow.system = [opening / tasks + s for s in single.system]
    flow.human = single.human + model_seconds(HUMAN["open from grid"]) / tasks


def table(flows: list[Flow]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {
            "work": flow.name,
            "mode": flow.mode,
            "median_s": round(flow.median, 2),
            "model_s": round(flow.human, 2),
            "system_median_s": round(statistics.median(flow.system), 3),
            "tasks": len(flow.system),
        }
        for flow in flows
    ]
    for (tool, work), operators in OTHERS.items():
        rows.append(
            {
                "work": work,
                "mode": tool,
                "model_s": round(model_seconds(operators), 2),
                "keys": keys_of(operators),
                "screens": SCREENS[tool],
            }
        )
    return rows
