"""The true precision of auto-accepted boxes: every model box on every auto-accepted image of
the run (not only the audited ones) judged against the generator's truth."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from inspection.models import Image, ReviewTask
from inspection.review.verdicts import model_boxes
from lab.field_loop.field import TrueBox
from lab.field_loop.matching import match_truth


@dataclass(frozen=True)
class Judged:
    class_name: str
    confidence: float
    correct: bool


@dataclass(frozen=True)
class TruePrecision:
    threshold: float
    boxes: int
    correct: int

    @property
    def precision(self) -> float | None:
        return self.correct / self.boxes if self.boxes else None


def auto_accepted(image_ids: Iterable[uuid.UUID]) -> list[Image]:
    """The images the pipeline accepted without review (an audit's accept or correction leaves
    the status `accepted`; a review task means the pipeline was unsure)."""
    reviewed = ReviewTask.objects.filter(kind=ReviewTask.Kind.REVIEW).values("image_id")
    return list(
        Image.objects.filter(id__in=list(image_ids), status=Image.Status.ACCEPTED)
        .exclude(id__in=reviewed)
        .order_by("position", "id")
    )


def judged_boxes(
    images: Iterable[Image], truths: Mapping[uuid.UUID, Sequence[TrueBox]]
) -> list[Judged]:
    judged: list[Judged] = []
    for image in images:
        model = model_boxes(image)
        hits = match_truth(model, truths[image.id]).hits
        judged.extend(
            Judged(box.class_name, float(box.confidence or 0.0), hit)
            for box, hit in zip(model, hits, strict=True)
        )
    return judged


def true_precision(judged: Sequence[Judged], class_name: str, threshold: float) -> TruePrecision:
    """Of the class's accepted boxes at or above `threshold` (the boxes Learn then Test counts
    for a candidate threshold), how many are right."""
    chosen = [j for j in judged if j.class_name == class_name and j.confidence >= threshold]
    return TruePrecision(threshold, len(chosen), sum(j.correct for j in chosen))
