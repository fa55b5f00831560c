"""Comparing a facility's shadow model with its active model (read-only; the writes are in
inspection/services/shadow.py), per class, on the images both ran on (ShadowRun rows of the
shadow on images inferred by the active model):

- agreement: active and shadow boxes of the same class overlapping by IoU >= 0.5 are paired
  (greedy by the shadow's confidence, each active box taken once: calibration's matching);
  the share of active boxes the shadow also found, and of shadow boxes the active one found;
- precision and recall of each model against human verdicts, on those of the images a person
  decided (reviewed images and audits: the standing decision's final boxes, which for an audit
  that confirmed the result are the model's boxes). A reject for "no package" says no box was
  right; other rejects judge the picture, not the boxes, and are left out. Each share comes
  with its one-sided 95 % Clopper-Pearson bounds (learning/precision.py).

Both models' boxes are taken at the same confidence cut-off: the facility's noise floor
(min_confidence of the policy routing the active model), below which validation drops the
active model's boxes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from inspection.calibration import thresholds as cal
from inspection.learning.outcomes import NO_PACKAGE
from inspection.learning.precision import lower_bound
from inspection.models import (
    Detection,
    Facility,
    Image,
    ModelChange,
    ModelVersion,
    ReviewDecision,
    ShadowRun,
)
from inspection.pipeline.policies import policy_for


@dataclass(frozen=True)
class Share:
    """`hits` of `n`, with its one-sided 95 % bounds (0 and 1 with nothing measured)."""

    hits: int
    n: int

    @property
    def value(self) -> float | None:
        return self.hits / self.n if self.n else None

    @property
    def lower(self) -> float:
        return lower_bound(self.hits, self.n)

    @property
    def upper(self) -> float:
        return 1.0 - lower_bound(self.n - self.hits, self.n) if self.n else 1.0


@dataclass(frozen=True)
class ModelScore:
    """One model's boxes of a class on the judged images, against the human boxes."""

    precision: Share  # correct boxes of all its boxes
    recall: Share  # human boxes it found


@dataclass(frozen=True)
class ClassComparison:
    class_name: str
    active_boxes: int
    shadow_boxes: int
    agreed: Share  # active boxes the shadow also found
    shadow_agreed: Share  # shadow boxes the active model also found
    human_boxes: int
    active: ModelScore
    shadow: ModelScore


@dataclass(frozen=True)
class Comparison:
    facility: Facility
    active: ModelVersion
    shadow: ModelVersion
    min_confidence: float
    images: int  # images both models ran on
    judged_images: int  # of which a person decided (rejects other than "no package" left out)
    classes: list[ClassComparison]


@dataclass(frozen=True)
class Box:
    image: Hashable
    class_name: str
    confidence: float
    corners: cal.Box


def comparison(facility: Facility) -> Comparison | None:
    """The facility's shadow against its active model; None without a shadow or active model."""
    active, shadow = facility.active_model, facility.shadow_model
    if active is None or shadow is None:
        return None
    cut = policy_for(facility.pk, active.pk).rules.min_confidence
    runs = ShadowRun.objects.filter(
        model_version=shadow, image__facility=facility, image__model_version=active
    )
    images = runs.values("image_id")  # a subquery: the ids never travel to Python
    active_boxes = _boxes(images, Detection.Source.MODEL, active, cut)
    shadow_boxes = _boxes(images, Detection.Source.SHADOW, shadow, cut)
    truths = human_boxes(images)
    names = _class_names(active, shadow, active_boxes + shadow_boxes, truths.values())
    rows = compare(names, active_boxes, shadow_boxes, truths)
    return Comparison(facility, active, shadow, cut, runs.count(), len(truths), rows)


def _boxes(images: QuerySet[Any], source: str, model: ModelVersion, cut: float) -> list[Box]:
    rows = Detection.objects.filter(
        image_id__in=images, source=source, model_version=model, confidence__gte=cut
    ).values_list("image_id", "class_name", "confidence", "x1", "y1", "x2", "y2")
    # Predicted rows always have a confidence (the filter above excludes null ones).
    return [Box(row[0], row[1], row[2] or 0.0, (row[3], row[4], row[5], row[6])) for row in rows]


def human_boxes(images: QuerySet[Any]) -> dict[Any, list[Box]]:
    """The human answer per judged image: the boxes of its standing decision (review or audit);
    empty for a "no package" reject; other rejects are not judged (absent)."""
    decisions = ReviewDecision.objects.filter(image_id__in=images).effective()
    found: dict[Any, list[Box]] = {}
    for image_id, verdict, reason, after in decisions.order_by("decided_at", "pk").values_list(
        "image_id", "verdict", "reason", "after"
    ):
        judged = _judged(image_id, verdict, reason, after)
        if judged is None:
            found.pop(image_id, None)
        else:
            found[image_id] = judged  # the latest standing decision wins
    return found


def _judged(image_id: Any, verdict: str, reason: str, after: dict[str, Any]) -> list[Box] | None:
    if verdict == Image.Verdict.REJECTED:
        return [] if reason == NO_PACKAGE else None
    return [
        Box(image_id, str(box["class_name"]), 1.0, _corners(box["box"]))
        for box in after.get("boxes", [])
    ]


def _corners(values: list[float]) -> cal.Box:
    x1, y1, x2, y2 = (float(value) for value in values)
    return (x1, y1, x2, y2)


def _class_names(
    active: ModelVersion, shadow: ModelVersion, boxes: list[Box], truths: Iterable[list[Box]]
) -> list[str]:
    """Both models' classes in their order, then any other a box or a person used."""
    names = list(dict.fromkeys([*active.class_names, *shadow.class_names]))
    seen = {box.class_name for box in boxes} | {box.class_name for row in truths for box in row}
    return names + sorted(seen - set(names))


def compare(
    names: list[str],
    active: list[Box],
    shadow: list[Box],
    truths: dict[Any, list[Box]],
) -> list[ClassComparison]:
    """Per class name: agreement on every image, scores on the judged ones (pure: tests hold it
    to a brute-force count)."""
    ids = {name: index for index, name in enumerate(names)}
    pairs = _matches(shadow, active, ids)
    judged = set(truths)
    human = [box for boxes in truths.values() for box in boxes]
    active_scores = _scores(active, judged, human, ids)
    shadow_scores = _scores(shadow, judged, human, ids)
    return [
        ClassComparison(
            class_name=name,
            active_boxes=_count(active, name),
            shadow_boxes=_count(shadow, name),
            agreed=Share(pairs[name], _count(active, name)),
            shadow_agreed=Share(pairs[name], _count(shadow, name)),
            human_boxes=_count(human, name),
            active=active_scores[name],
            shadow=shadow_scores[name],
        )
        for name in names
    ]


def _count(boxes: list[Box], name: str) -> int:
    return sum(box.class_name == name for box in boxes)


def _matches(detected: list[Box], truths: list[Box], ids: dict[str, int]) -> dict[str, int]:
    """Per class, how many of `detected` matched one of `truths` (each truth taken once)."""
    scored = cal.match(_detections(detected, ids), _truths(truths, ids))
    names = {index: name for name, index in ids.items()}
    hits: dict[str, int] = defaultdict(int)
    for row in scored:
        hits[names[row.class_id]] += row.hit
    return hits


def _scores(
    boxes: list[Box], judged: set[Any], human: list[Box], ids: dict[str, int]
) -> dict[str, ModelScore]:
    mine = [box for box in boxes if box.image in judged]
    hits = _matches(mine, human, ids)
    return {
        name: ModelScore(
            precision=Share(hits[name], _count(mine, name)),
            recall=Share(hits[name], _count(human, name)),
        )
        for name in ids
    }


def _detections(boxes: list[Box], ids: dict[str, int]) -> list[cal.Detection]:
    return [cal.Detection(b.image, ids[b.class_name], b.confidence, b.corners) for b in boxes]


def _truths(boxes: list[Box], ids: dict[str, int]) -> list[cal.GroundTruth]:
    return [cal.GroundTruth(b.image, ids[b.class_name], b.corners) for b in boxes]


def last_promotion(facility: Facility) -> ModelChange | None:
    """The promotion a rollback would undo now, if any (for the page's button)."""
    promotion = ModelChange.objects.filter(
        facility=facility, action=ModelChange.Action.PROMOTE
    ).first()
    if promotion is None or promotion.model_version_id != facility.active_model_id:
        return None
    if ModelChange.objects.filter(undoes=promotion).exists():
        return None
    return promotion


def changes(facility: Facility, limit: int = 20) -> list[ModelChange]:
    """The facility's latest model changes, newest first (the audit trail the page shows)."""
    rows = ModelChange.objects.filter(facility=facility)
    return list(rows.select_related("model_version", "previous_model", "policy")[:limit])
