"""`simulate_field_loop`: field images through the real pipeline with the default model, audits
decided from the generator's truth, and the report set beside the true precision. The truth and
its matching are recomputed here, apart from lab/field_loop, so a fault there shows."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from inspection.learning.report import precision_report
from inspection.models import Facility, Image, ReviewDecision, ReviewTask
from inspection.services.facilities import create_facility
from lab.synthetic.dataset import generate_example
from lab.synthetic.parcels import CLASS_NAMES
from lab.synthetic.plan import DEFAULT_RESOLUTIONS, GeneratorConfig

pytestmark = pytest.mark.django_db

SEED, IMAGES, MAX_SIDE, SLUG = 2026, 40, 800, "field-test"
# (class name, confidence or None, (x1, y1, x2, y2))
Box = tuple[str, float | None, tuple[float, float, float, float]]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


def truth_of(name: str) -> list[Box]:
    """The generator's boxes for the image named field_s<seed>_<index>.jpg, rendered again."""
    found = re.fullmatch(r"field_s(\d+)_(\d+)\.jpg", name)
    assert found, name
    config = GeneratorConfig(
        resolutions=tuple(r for r in DEFAULT_RESOLUTIONS if max(r[:2]) <= MAX_SIDE)
    )
    example = generate_example(int(found[1]), int(found[2]), config)
    return [
        (CLASS_NAMES[b.class_id], None, (b.box.x1, b.box.y1, b.box.x2, b.box.y2))
        for b in example.boxes
    ]


def greedy(model: list[Box], truths: list[Box]) -> tuple[list[bool], list[Box]]:
    """Per model box whether it hits a free true box of its class (IoU >= 0.5, best overlap,
    by falling confidence), and the true boxes left."""
    free = list(range(len(truths)))
    hits = [False] * len(model)
    for i in sorted(range(len(model)), key=lambda i: -(model[i][1] or 0.0)):
        same = [t for t in free if truths[t][0] == model[i][0]]
        best = max(same, key=lambda t: iou(model[i][2], truths[t][2]), default=None)
        if best is not None and iou(model[i][2], truths[best][2]) >= 0.5:
            hits[i] = True
            free.remove(best)
    return hits, [truths[t] for t in free]


def boxes_of(snapshot: dict[str, Any]) -> list[Box]:
    return [(b["class_name"], b["confidence"], tuple(b["box"])) for b in snapshot["boxes"]]


def rounded(boxes: list[Box]) -> list[tuple[str, tuple[float, ...]]]:
    return sorted((name, tuple(round(v, 2) for v in corners)) for name, _, corners in boxes)


def run_command(out: Path, **options: Any) -> dict[str, Any]:
    arguments = {"images": IMAGES, "seed": SEED, "audit_share": 1.0, "facility": SLUG}
    call_command("simulate_field_loop", json=out, **(arguments | options))
    return dict(json.loads(out.read_text()))


@pytest.mark.slow
def test_audits_are_decided_from_truth_and_the_report_holds(
    media_root: Path, tmp_path: Path
) -> None:
    run = run_command(tmp_path / "run.json", max_side=MAX_SIDE)
    facility = Facility.objects.get(slug=SLUG)
    removed = check_audits_follow_truth(facility)
    assert removed > 0, "no audited image had a wrong box: pick a seed or size that has one"
    check_report_is_the_selectors(run, facility)
    check_bound_below_true_precision(run, facility)


def check_audits_follow_truth(facility: Facility) -> int:
    """Every audit's final boxes are the matched model boxes plus the missed true ones; returns
    how many wrong model boxes the audits removed."""
    decisions = ReviewDecision.objects.filter(task__kind=ReviewTask.Kind.AUDIT, facility=facility)
    accepted = Image.objects.filter(facility=facility, status=Image.Status.ACCEPTED).count()
    assert decisions.count() == accepted > 0  # share 1.0: every accepted image, decided
    removed = 0
    for decision in decisions.select_related("image"):
        model, truths = boxes_of(decision.before), truth_of(decision.image.original_name)
        hits, missed = greedy(model, truths)
        kept = [box for box, hit in zip(model, hits, strict=True) if hit]
        assert rounded(boxes_of(decision.after)) == rounded(kept + missed)
        assert decision.action == (
            "accept" if len(kept) == len(model) and not missed else "correct"
        )
        removed += hits.count(False)
    return removed


def check_report_is_the_selectors(run: dict[str, Any], facility: Facility) -> None:
    rows = precision_report(Facility.objects.filter(pk=facility.pk))
    assert [r["class_name"] for r in run["classes"]] == [row.class_name for row in rows]
    for printed, row in zip(run["classes"], rows, strict=True):
        assert printed["threshold"] == row.threshold
        assert printed["audited_boxes"] == row.boxes and printed["correct"] == row.correct
        assert printed["lower_bound"] == pytest.approx(row.lower_bound)
        assert printed["further_audits"] == row.further_audits
        assert printed["recommended_threshold"] == row.recommended.threshold
        assert printed["review_share_now"] == pytest.approx(row.review.now)


def check_bound_below_true_precision(run: dict[str, Any], facility: Facility) -> None:
    """The true precision of every auto-accepted box at the current threshold, recomputed from
    the generator; the certified bound does not exceed it (all audited, so they agree here)."""
    reviewed = ReviewTask.objects.filter(kind=ReviewTask.Kind.REVIEW).values("image_id")
    images = Image.objects.filter(facility=facility, status=Image.Status.ACCEPTED).exclude(
        id__in=reviewed
    )
    judged: list[tuple[str, float, bool]] = []
    for image in images:
        model = [
            (d.class_name, d.confidence, (d.x1, d.y1, d.x2, d.y2))
            for d in image.detections.filter(source="model")
        ]
        hits, _ = greedy(model, truth_of(image.original_name))
        judged += [(m[0], float(m[1] or 0), hit) for m, hit in zip(model, hits, strict=True)]
    for row in run["classes"]:
        mine = [
            hit
            for name, conf, hit in judged
            if name == row["class_name"] and conf >= row["threshold"]
        ]
        assert row["true_now"]["boxes"] == len(mine) > 0
        assert row["true_now"]["correct"] == sum(mine)
        assert row["lower_bound"] <= sum(mine) / len(mine)


def test_a_seed_the_model_trained_on_is_refused(media_root: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Seed 0 made the default model's training"):
        run_command(tmp_path / "run.json", seed=0, images=1)
    assert not Facility.objects.filter(slug=SLUG).exists()


def test_a_facility_with_images_is_refused(media_root: Path, tmp_path: Path) -> None:
    facility = create_facility(SLUG)
    Image.objects.create(batch=facility.batches.create(), facility=facility, position=0)
    with pytest.raises(CommandError, match="already has images"):
        run_command(tmp_path / "run.json", images=1)


def test_frame_sizes_must_fit_max_side(media_root: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No frame size fits --max-side 100"):
        run_command(tmp_path / "run.json", images=1, max_side=100)
