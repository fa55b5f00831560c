"""The measured precision of auto-accepted boxes, per facility, model version and class: what
the audits saw, its one-sided 95 % lower bound, whether that certifies the promised precision
and how many further audits would, the threshold Learn then Test recommends, and the share of
images each class sends to review now and would at the recommendation.

The promise of a class is the target its calibrated policy version was set for
(`details.classes.<name>.target_precision`, written by calibrate_thresholds), else the default
target of calibration (0.95). The review share of a class is measured on the facility's images
of that model finished in the last REVIEW_WINDOW: the share holding a box of the class below the
threshold (the boxes below min_confidence were dropped at validation, so every box left below
the threshold sends its image to review)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from inspection.calibration.targets import PrecisionTargets
from inspection.learning import ltt, precision
from inspection.learning.outcomes import Audited, Group, audited, classes_of
from inspection.models import Detection, Facility, Image, ModelVersion, ThresholdPolicy
from inspection.pipeline.policies import AppliedPolicy, policy_for

REVIEW_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class ReviewShare:
    images: int  # finished in the window
    now: float  # share sent to review by this class at its current threshold
    recommended: float | None  # ... at the recommended one


@dataclass(frozen=True)
class ClassReport:
    facility: str
    model: str
    class_name: str
    threshold: float  # now
    target: float  # promised precision
    audited_images: int  # the group's audited images (all classes)
    boxes: int  # auto-accepted boxes of the class the audits judged
    correct: int
    lower_bound: float  # one-sided 95 %
    further_audits: int | None  # boxes still to audit to certify; None: never at this rate
    recommended: ltt.ClassResult
    review: ReviewShare
    facility_id: int
    model_version_id: int | None

    @property
    def precision(self) -> float | None:
        return self.correct / self.boxes if self.boxes else None

    @property
    def certified(self) -> bool:
        return self.lower_bound >= self.target

    @property
    def further_audited_images(self) -> int | None:
        """The further audits (images) those boxes take, at the rate the class has come with
        audited images so far; None when never, or when no audited image had the class yet."""
        if self.further_audits is None or not self.boxes:
            return None
        return math.ceil(self.further_audits * self.audited_images / self.boxes)


def precision_report(
    facilities: QuerySet[Facility], since: datetime | None = None, alpha: float = ltt.ALPHA
) -> list[ClassReport]:
    """Every facility, model version and class the caller's facilities have audits of."""
    rows: list[ClassReport] = []
    for group, entry in sorted(audited(facilities, since).items(), key=_order):
        rows.extend(group_report(group, entry, alpha))
    return rows


def _order(item: tuple[Group, Audited]) -> tuple[str, str]:
    return item[0].facility, item[0].model


def group_report(group: Group, entry: Audited, alpha: float) -> list[ClassReport]:
    applied = policy_for(group.facility_id, group.model_version_id)
    model = ModelVersion.objects.filter(id__in=[group.model_version_id]).first()
    names = classes_of(entry.boxes, model.class_names if model else [])
    current = {name: applied.rules.threshold_for(name) for name in names}
    targets = promised(applied, names)
    observations = {name: entry.boxes.get(name, []) for name in names}
    grids = {name: ltt.candidates(current[name]) for name in names}
    results = ltt.learn_then_test(observations, grids, targets, alpha)
    return [
        _row(group, entry, name, current[name], results[name], observations[name]) for name in names
    ]


def _row(
    group: Group,
    entry: Audited,
    name: str,
    threshold: float,
    result: ltt.ClassResult,
    seen: list[ltt.Observation],
) -> ClassReport:
    correct = sum(o.correct for o in seen)
    return ClassReport(
        facility=group.facility,
        model=group.model,
        class_name=name,
        threshold=threshold,
        target=result.target,
        audited_images=entry.images,
        boxes=len(seen),
        correct=correct,
        lower_bound=precision.lower_bound(correct, len(seen)),
        further_audits=precision.further_audits(correct, len(seen), result.target),
        recommended=result,
        review=review_share(group, name, threshold, result.threshold),
        facility_id=group.facility_id,
        model_version_id=group.model_version_id,
    )


def promised(applied: AppliedPolicy, names: list[str]) -> dict[str, float]:
    default = PrecisionTargets().default
    policy = ThresholdPolicy.objects.filter(id__in=[applied.policy_id]).first()
    rows: Mapping[str, Mapping[str, object]] = policy.details.get("classes", {}) if policy else {}
    return {name: _target(rows.get(name, {}), default) for name in names}


def _target(row: Mapping[str, object], default: float) -> float:
    value = row.get("target_precision")
    return float(value) if isinstance(value, (int, float)) else default


def review_share(group: Group, name: str, now: float, recommended: float | None) -> ReviewShare:
    since = timezone.now() - REVIEW_WINDOW
    images = Image.objects.filter(
        facility_id=group.facility_id,
        model_version_id=group.model_version_id,
        finished_at__gte=since,
    )
    total = images.count()
    boxes = Detection.objects.filter(
        image__in=images, source=Detection.Source.MODEL, class_name=name
    )
    counts = boxes.aggregate(
        now=Count("image_id", distinct=True, filter=Q(confidence__lt=now)),
        then=Count("image_id", distinct=True, filter=Q(confidence__lt=recommended or now)),
    )
    return ReviewShare(
        total,
        counts["now"] / total if total else 0.0,
        (counts["then"] / total if total else 0.0) if recommended is not None else None,
    )
