"""Audit verdicts as per-box observations: for each standing audit decision in the caller's
facilities, each box the model had on the auto-accepted image, with its confidence, judged
correct or not by the reviewer's answer.

A box is correct (a true positive) when the reviewer's final boxes hold one of the same class
overlapping it by IoU >= 0.5: kept as it was, or moved or resized a little. Deleted, relabelled
(the reviewer's box has another class) or moved further is a false positive. Matching is the
calibration's (greedy by confidence, each reviewer box taken once). A reject says the picture is
unusable, not that the boxes were wrong, so a rejected audit counts no box, except a reject for
"no package in the picture": then every box the model drew there was wrong."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from inspection.calibration import thresholds as cal
from inspection.learning.ltt import Observation
from inspection.models import Facility, Image, ReviewDecision, ReviewTask

NO_PACKAGE = "no_package"


@dataclass(frozen=True)
class Group:
    """The unit of measurement: one facility's audits of one model version."""

    facility_id: int
    facility: str
    model_version_id: int | None
    model: str


@dataclass
class Audited:
    """A group's audits: how many images, and the judged boxes by class name."""

    images: int = 0
    boxes: dict[str, list[Observation]] = field(default_factory=lambda: defaultdict(list))


def audit_decisions(
    facilities: QuerySet[Facility], since: datetime | None = None
) -> QuerySet[ReviewDecision]:
    """Standing decisions of audit tasks in `facilities` (undone ones left out)."""
    rows = ReviewDecision.objects.filter(facility__in=facilities, task__kind=ReviewTask.Kind.AUDIT)
    if since is not None:
        rows = rows.filter(decided_at__gte=since)
    return rows.effective()


FIELDS = (
    "facility_id",
    "facility__slug",
    "image__model_version_id",
    "image__model_version__name",
    "image__model_version__version",
    "verdict",
    "reason",
    "before",
    "after",
)


def audited(facilities: QuerySet[Facility], since: datetime | None = None) -> dict[Group, Audited]:
    found: dict[Group, Audited] = defaultdict(Audited)
    for row in audit_decisions(facilities, since).values_list(*FIELDS):
        entry = found[_group(row)]
        entry.images += 1
        for class_name, observation in judge(row[5], row[6], row[7], row[8]):
            entry.boxes[class_name].append(observation)
    return dict(found)


def _group(row: tuple[Any, ...]) -> Group:
    facility_id, slug, model_id, name, version = row[:5]
    return Group(facility_id, slug, model_id, f"{name}:{version}" if model_id else "")


def judge(
    verdict: str, reason: str, before: dict[str, Any], after: dict[str, Any]
) -> list[tuple[str, Observation]]:
    """(class name, observation) for each model box of one audit."""
    model = [_detection(box) for box in before.get("boxes", []) if box["confidence"] is not None]
    names = {box["class_id"]: box["class_name"] for box in before.get("boxes", [])}
    if verdict == Image.Verdict.REJECTED:
        if reason != NO_PACKAGE:
            return []
        return [(names[d.class_id], Observation(d.confidence, False)) for d in model]
    truths = [cal.GroundTruth(0, box["class_id"], _corners(box)) for box in after.get("boxes", [])]
    return [
        (names[scored.class_id], Observation(scored.confidence, scored.hit))
        for scored in cal.match(model, truths)
    ]


def _detection(box: dict[str, Any]) -> cal.Detection:
    return cal.Detection(0, int(box["class_id"]), float(box["confidence"]), _corners(box))


def _corners(box: dict[str, Any]) -> cal.Box:
    x1, y1, x2, y2 = (float(value) for value in box["box"])
    return (x1, y1, x2, y2)


def classes_of(entries: Iterable[str], model_classes: Iterable[str]) -> list[str]:
    """The model's classes, and any other an audit met, in a stable order."""
    names = list(dict.fromkeys(model_classes))
    return names + sorted(set(entries) - set(names))
