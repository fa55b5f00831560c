"""Reviewers at work on the history's review tasks: on weekdays 07-19 and Saturday mornings
they clear the queue within half an hour or so; what arrives at night, on Saturday afternoon or on
Sunday waits for the next shift (the backlog and its oldest task grow, then fall). Decisions are
the review UI's: accept as is, correct a box (the override), or reject, with their snapshots made
by the UI's own `snapshot` and `changed_classes`; one in a hundred is undone and decided again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from inspection.analytics.history.outcomes import Box
from inspection.review.boxes import Box as ReviewBox
from inspection.review.boxes import changed_classes, snapshot
from inspection.review.decisions import REJECT_REASONS

# Hours on shift per weekday (Monday first): [start, end).
SHIFTS = ((7, 19), (7, 19), (7, 19), (7, 19), (7, 19), (8, 14), None)
MEAN_WAIT_MINUTES = 25.0
ACTIONS = {"accept": 0.72, "correct": 0.18, "reject": 0.10}
SECONDS_MEDIAN = {"accept": 4.5, "correct": 11.0, "reject": 7.0}
UNDO_SHARE = 0.01
UNDO_AFTER = timedelta(seconds=20)


def on_shift(at: datetime) -> bool:
    shift = SHIFTS[at.weekday()]
    return shift is not None and shift[0] <= at.hour < shift[1]


def next_shift_start(at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(8):
        shift = SHIFTS[(day + timedelta(days=offset)).weekday()]
        if shift is None:
            continue
        start = day + timedelta(days=offset, hours=shift[0])
        if start > at:
            return start
    raise AssertionError("a week always has a shift")


def completion_time(rng: random.Random, created: datetime) -> datetime:
    """When a reviewer decides a task created at `created` (its wait restarts at the next
    shift when the shift ends first)."""
    at = created if on_shift(created) else next_shift_start(created)
    done = at + timedelta(minutes=rng.expovariate(1 / MEAN_WAIT_MINUTES))
    while not on_shift(done):
        done = next_shift_start(done) + timedelta(minutes=rng.expovariate(1 / MEAN_WAIT_MINUTES))
    return done


@dataclass(frozen=True)
class Verdict:
    """One decision: the action, the audit snapshots, and the image's final state."""

    action: str
    verdict: str
    reason: str
    before: dict[str, object]
    after: dict[str, object]
    changed: list[str]
    final_boxes: list[ReviewBox]
    seconds_spent: float


def verdict(rng: random.Random, boxes: list[Box], class_names: list[str]) -> Verdict:
    action = rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
    model = [_review_box(box) for box in boxes]
    seconds = round(SECONDS_MEDIAN[action] * rng.lognormvariate(0, 0.4), 1)
    before = snapshot("needs_review", model)
    if action == "reject" or not model:
        reason = rng.choice(list(REJECT_REASONS))
        return Verdict(
            "reject", "rejected", reason, before, snapshot("rejected", []), [], [], seconds
        )
    final = _corrected(rng, model, class_names) if action == "correct" else model
    changed = changed_classes(model, final)
    action = "correct" if changed else "accept"
    after = snapshot("accepted", final)
    return Verdict(action, "accepted", "", before, after, changed, final, seconds)


def _review_box(box: Box) -> ReviewBox:
    return ReviewBox(box.class_id, box.class_name, *box.corners, confidence=box.confidence)


def _corrected(
    rng: random.Random, model: list[ReviewBox], class_names: list[str]
) -> list[ReviewBox]:
    """The reviewer fixes the least certain box: relabels, deletes or moves it."""
    index = min(range(len(model)), key=lambda i: model[i].confidence or 0.0)
    box, rest = model[index], model[:index] + model[index + 1 :]
    fix = rng.random()
    if fix < 0.3 and len(class_names) > 1:
        other = rng.choice([i for i in range(len(class_names)) if i != box.class_id])
        return [*rest, ReviewBox(other, class_names[other], box.x1, box.y1, box.x2, box.y2)]
    if fix < 0.6:
        return rest
    shift = rng.uniform(8, 40)
    return [
        *rest,
        ReviewBox(box.class_id, box.class_name, box.x1 + shift, box.y1, box.x2 + shift, box.y2),
    ]
