"""One planned batch of the history as table rows: the batch, its images, the model's boxes,
and for each image sent to review its task and decisions (the reviewer's boxes included)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inspection.analytics.history import review
from inspection.analytics.history.outcomes import Box, Outcome, World, outcome
from inspection.analytics.history.thresholds import PolicyPeriod, in_force
from inspection.analytics.history.traffic import PlannedBatch
from inspection.review.boxes import Box as ReviewBox


@dataclass(frozen=True)
class Context:
    facility_id: int
    model_id: int
    periods: list[PolicyPeriod]
    reviewer_ids: list[int]
    world: World


@dataclass
class TaskPlan:
    """A review task; its decisions in order (an undone one, the undo, the final one)."""

    image: dict[str, Any]
    outcome: Outcome
    reviewer_id: int | None = None
    completed: datetime | None = None
    verdicts: list[review.Verdict] = field(default_factory=list)


@dataclass
class Rows:
    batches: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    detections: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[TaskPlan] = field(default_factory=list)


def batch_rows(rng: random.Random, context: Context, planned: PlannedBatch, rows: Rows) -> None:
    batch_id = _uuid(rng)
    finished = []
    for position, at in enumerate(planned.photo_times()):
        period = in_force(context.periods, at)
        result = outcome(rng, context.world, at, planned.camera, period.rules)
        image = _image(rng, context, batch_id, position, at, planned, result, period)
        rows.images.append(image)
        rows.detections.extend(_model_boxes(image["id"], result.boxes, context.model_id))
        if result.status == "needs_review":
            rows.tasks.append(_review(rng, context, image, result))
        finished.append(result.finished_at or at)
    rows.batches.append(_batch(batch_id, context, planned, max(finished)))


def _uuid(rng: random.Random) -> uuid.UUID:
    # Not from the seeded generator: two histories of one seed share a database.
    return uuid.uuid4()


def _batch(
    batch_id: uuid.UUID, context: Context, planned: PlannedBatch, completed: datetime
) -> dict[str, Any]:
    return {
        "id": batch_id,
        "facility_id": context.facility_id,
        "status": "completed",
        "total": planned.size,
        "camera": planned.camera.name,
        "created_at": planned.created_at,
        "updated_at": completed,
        "completed_at": completed,
    }


def _image(
    rng: random.Random,
    context: Context,
    batch_id: uuid.UUID,
    position: int,
    at: datetime,
    planned: PlannedBatch,
    result: Outcome,
    period: PolicyPeriod,
) -> dict[str, Any]:
    routed = result.status != "failed"
    return {
        "id": _uuid(rng),
        "batch_id": batch_id,
        "facility_id": context.facility_id,
        "position": position,
        "original_name": f"{planned.camera.name}-{at:%Y%m%d-%H%M%S}-{position:02d}.jpg",
        "content_hash": f"{rng.getrandbits(256):064x}",
        "size_bytes": rng.randint(180_000, 900_000),
        "format": "JPEG",
        "width": 1920,
        "height": 1080,
        "status": result.status,
        "reason": result.reason,
        "review_reasons": result.review_reasons,
        "timings": result.timings,
        "attempts": 1,
        "scale": 1 / 3 if routed else None,
        "model_version_id": context.model_id if routed else None,
        "policy_id": period.policy.pk if routed else None,
        "threshold_source": period.policy.source if routed else "",
        "created_at": at,
        "updated_at": result.finished_at,
        "finished_at": result.finished_at,
    }


def _model_boxes(image_id: uuid.UUID, boxes: list[Box], model_id: int) -> list[dict[str, Any]]:
    return [
        {
            "image_id": image_id,
            "source": "model",
            "model_version_id": model_id,
            "class_id": box.class_id,
            "class_name": box.class_name,
            "confidence": box.confidence,
            "x1": box.corners[0],
            "y1": box.corners[1],
            "x2": box.corners[2],
            "y2": box.corners[3],
            "accepted": box.accepted,
        }
        for box in boxes
    ]


def _review(
    rng: random.Random, context: Context, image: dict[str, Any], result: Outcome
) -> TaskPlan:
    plan = TaskPlan(image, result)
    completed = review.completion_time(rng, result.finished_at or image["created_at"])
    if completed > context.world.end:
        return plan  # still waiting
    plan.reviewer_id = rng.choice(context.reviewer_ids)
    plan.completed = completed
    names = context.world.class_names
    if rng.random() < review.UNDO_SHARE:
        plan.verdicts.append(review.verdict(rng, result.boxes, names))
    plan.verdicts.append(review.verdict(rng, result.boxes, names))
    _decided(image, plan)
    return plan


def _decided(image: dict[str, Any], plan: TaskPlan) -> None:
    final = plan.verdicts[-1]
    image.update(
        status=final.verdict,
        verdict=final.verdict,
        reason=final.reason,
        reviewed_by_id=plan.reviewer_id,
        reviewed_at=plan.completed,
        updated_at=plan.completed,
    )


# --- tasks and decisions, once their ids are known -------------------------------------------


def task_row(task_id: int, context: Context, plan: TaskPlan) -> dict[str, Any]:
    done = plan.completed is not None
    last = plan.verdicts[-1] if plan.verdicts else None
    claimed = (
        plan.completed - timedelta(seconds=last.seconds_spent)
        if plan.completed is not None and last
        else None
    )
    return {
        "id": task_id,
        "image_id": plan.image["id"],
        "facility_id": context.facility_id,
        "status": "done" if done else "open",
        "reasons": plan.outcome.review_reasons,
        "min_confidence": plan.outcome.lowest_confidence,
        "created_at": plan.outcome.finished_at,
        "claimed_by_id": plan.reviewer_id,
        "claimed_at": claimed,
        "completed_at": plan.completed,
    }


def decision_rows(
    first_id: int, task_id: int, context: Context, plan: TaskPlan
) -> list[dict[str, Any]]:
    """The final decision at completion; an undone one (and its undo) a minute before."""
    if plan.completed is None:
        return []
    common = {
        "task_id": task_id,
        "image_id": plan.image["id"],
        "facility_id": context.facility_id,
        "decided_by_id": plan.reviewer_id,
    }
    *undone, final = plan.verdicts
    rows = []
    if undone:
        at = plan.completed - timedelta(minutes=1)
        rows.append({**common, **_decision(undone[0], first_id, at)})
        rows.append({**common, **_undo(undone[0], first_id, at + review.UNDO_AFTER)})
    rows.append({**common, **_decision(final, first_id + len(rows), plan.completed)})
    return rows


def _decision(verdict: review.Verdict, decision_id: int, at: datetime) -> dict[str, Any]:
    return {
        "id": decision_id,
        "decided_at": at,
        "action": verdict.action,
        "verdict": verdict.verdict,
        "reason": verdict.reason,
        "before": verdict.before,
        "after": verdict.after,
        "changed": bool(verdict.changed),
        "changed_classes": verdict.changed,
        "seconds_spent": verdict.seconds_spent,
    }


def _undo(undone: review.Verdict, undone_id: int, at: datetime) -> dict[str, Any]:
    return {
        "id": undone_id + 1,
        "decided_at": at,
        "action": "undo",
        "before": undone.after,
        "after": undone.before,
        "undoes_id": undone_id,
    }


def reviewer_boxes(plan: TaskPlan) -> list[dict[str, Any]]:
    if plan.completed is None:
        return []
    return [_reviewer_box(plan.image["id"], box) for box in plan.verdicts[-1].final_boxes]


def _reviewer_box(image_id: uuid.UUID, box: ReviewBox) -> dict[str, Any]:
    return {
        "image_id": image_id,
        "source": "reviewer",
        "class_id": box.class_id,
        "class_name": box.class_name,
        "x1": box.x1,
        "y1": box.y1,
        "x2": box.x2,
        "y2": box.y2,
        "accepted": True,
    }
