"""The run's numbers: per class, the precision report's row (inspection/learning/report.py, the
thresholds page's numbers) beside the true precision of the auto-accepted boxes at the current
and at the recommended threshold. As text for the terminal and as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inspection.learning.report import ClassReport, precision_report
from inspection.models import Facility
from lab.field_loop.run import FieldRun
from lab.field_loop.truth import (
    Judged,
    TruePrecision,
    auto_accepted,
    judged_boxes,
    true_precision,
)

PROCESSING = "in-process stage services (preprocess, infer, validate), not Celery workers"


@dataclass(frozen=True)
class ClassSummary:
    report: ClassReport
    true_now: TruePrecision
    true_recommended: TruePrecision | None  # None: no recommendation


def summarize(run: FieldRun) -> list[ClassSummary]:
    rows = precision_report(Facility.objects.filter(pk=run.facility.pk))
    judged = judged_boxes(auto_accepted(run.truths), run.truths)
    return [
        ClassSummary(
            row,
            true_precision(judged, row.class_name, row.threshold),
            _at(judged, row.class_name, row.recommended.threshold),
        )
        for row in rows
    ]


def _at(judged: Sequence[Judged], class_name: str, threshold: float | None) -> TruePrecision | None:
    return None if threshold is None else true_precision(judged, class_name, threshold)


def as_json(run: FieldRun, rows: list[ClassSummary]) -> dict[str, Any]:
    options = run.options
    return {
        "command": command_line(run),
        "facility": run.facility.slug,
        "seed": options.seed,
        "images": options.images,
        "max_side": options.max_side,
        "audit_share": options.audit_share,
        "processing": PROCESSING,
        "skipped_indices": run.skipped,
        "statuses": dict(run.statuses),
        "audit_decisions": dict(run.audits),
        "seconds": round(run.seconds, 1),
        "classes": [_class_json(row) for row in rows],
    }


def _class_json(row: ClassSummary) -> dict[str, Any]:
    r = row.report
    return {
        "class_name": r.class_name,
        "model": r.model,
        "threshold": r.threshold,
        "target": r.target,
        "audited_images": r.audited_images,
        "audited_boxes": r.boxes,
        "correct": r.correct,
        "precision": r.precision,
        "lower_bound": r.lower_bound,
        "certified": r.certified,
        "further_audits": r.further_audits,
        "further_audited_images": r.further_audited_images,
        "recommended_threshold": r.recommended.threshold,
        "review_share_now": r.review.now,
        "review_share_recommended": r.review.recommended,
        "true_now": _true_json(row.true_now),
        "true_recommended": _true_json(row.true_recommended),
    }


def _true_json(value: TruePrecision | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "threshold": value.threshold,
        "boxes": value.boxes,
        "correct": value.correct,
        "precision": value.precision,
    }


def command_line(run: FieldRun) -> str:
    o = run.options
    parts = [
        f"manage.py simulate_field_loop --images {o.images} --seed {o.seed}",
        f"--audit-share {o.audit_share} --facility {o.facility}",
    ]
    if o.max_side is not None:
        parts.append(f"--max-side {o.max_side}")
    return " ".join(parts)


def as_text(run: FieldRun, rows: list[ClassSummary]) -> list[str]:
    lines = [
        f"{command_line(run)}: {len(run.truths)} images ({_counts(run.statuses)}), "
        f"{sum(run.audits.values())} audits decided from the truth ({_counts(run.audits)}), "
        f"{run.seconds:.0f} s; {PROCESSING}.",
    ]
    if run.skipped:
        lines.append(f"Not rendered by the generator (skipped): indices {run.skipped}.")
    lines.append(HEADER)
    lines += [_line(row) for row in rows]
    return lines


HEADER = (
    "class    thresh  target  audited(img/box)  measured  bound95  cert  further(box/img)  "
    "recommended  review now->rec  TRUE@now (n)  TRUE@rec (n)"
)


def _line(row: ClassSummary) -> str:
    r = row.report
    review_rec = "-" if r.review.recommended is None else f"{r.review.recommended:.1%}"
    return (
        f"{r.class_name:<8} {r.threshold:6.3f}  {r.target:6.3f}  "
        f"{r.audited_images:>7}/{r.boxes:<8}  {_num(r.precision):>8}  {r.lower_bound:7.4f}  "
        f"{'yes' if r.certified else 'no':<4}  {_int(r.further_audits):>7}/"
        f"{_int(r.further_audited_images):<8}  {_num(r.recommended.threshold):>11}  "
        f"{r.review.now:6.1%} -> {review_rec:<6}  {_true(row.true_now):>12}  "
        f"{_true(row.true_recommended):>12}"
    )


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _int(value: int | None) -> str:
    return "never" if value is None else str(value)


def _true(value: TruePrecision | None) -> str:
    if value is None:
        return "-"
    return f"{_num(value.precision)} ({value.boxes})"


def _counts(counter: Any) -> str:
    return ", ".join(f"{key} {count}" for key, count in sorted(counter.items())) or "none"
