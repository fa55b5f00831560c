"""The shadow comparison's numbers: agreement between the shadow's and the active model's boxes,
and each model's precision and recall against human verdicts with their bounds; on random
scenes held to a brute-force count, and on a hand-made facility whose numbers are worked out
below."""

from __future__ import annotations

import random
from itertools import product
from typing import Any

import pytest

from inspection.calibration.thresholds import iou
from inspection.learning import precision
from inspection.learning.shadow import Box, Share, compare, comparison
from inspection.models import Facility
from inspection.review import leases
from inspection.review.boxes import Box as ReviewerBox
from inspection.review.decisions import DecisionRequest, decide
from tests.learning_support import accepted_batch, audit_task
from tests.review_support import CLASSES, parcel_model
from tests.shadow_support import add_shadow_boxes, candidate_model, with_models

CELL = 200.0  # scene slots are this far apart: a box never reaches a neighbouring slot's box
SIDE = 100.0


def _scene(rng: random.Random, images: int) -> tuple[list[Box], list[Box], dict[Any, list[Box]]]:
    """Per slot of each image: a class, and for each of active, shadow and person, no box, a
    box on the slot (jittered: IoU >= 0.5 with the others on it), a box shifted off it (IoU
    0.25), or a box of another class."""
    active: list[Box] = []
    shadow: list[Box] = []
    truths: dict[Any, list[Box]] = {}
    for image in range(images):
        judged = rng.random() < 0.7
        truths_here: list[Box] = []
        for slot in range(6):
            name = rng.choice(CLASSES)
            for target in (active, shadow, truths_here if judged else None):
                if target is None:
                    continue
                kind = rng.choice(["none", "on", "on", "shifted", "relabelled"])
                if kind != "none":
                    target.append(_box(rng, image, slot, name, kind))
        if judged:
            truths[image] = truths_here
    return active, shadow, truths


def _box(rng: random.Random, image: int, slot: int, name: str, kind: str) -> Box:
    x = slot * CELL + (60.0 if kind == "shifted" else rng.uniform(-5, 5))
    y = rng.uniform(-5, 5)
    label = rng.choice([c for c in CLASSES if c != name]) if kind == "relabelled" else name
    return Box(image, label, rng.random(), (x, y, x + SIDE, y + SIDE))


def _pairs(found: list[Box], truths: list[Box], name: str) -> int:
    """Brute force: boxes of the class overlapping by IoU >= 0.5 on the same image (in these
    scenes each box has at most one such partner, so this is the matching's size)."""
    return sum(
        1
        for a, b in product(found, truths)
        if a.class_name == b.class_name == name
        and a.image == b.image
        and iou(a.corners, b.corners) >= 0.5
    )


@pytest.mark.parametrize("seed", range(5))
def test_agreement_precision_and_recall_match_a_brute_force_count(seed: int) -> None:
    rng = random.Random(seed)
    active, shadow, truths = _scene(rng, images=12)
    rows = {row.class_name: row for row in compare(CLASSES, active, shadow, truths)}
    human = [box for boxes in truths.values() for box in boxes]
    for name in CLASSES:
        row = rows[name]
        n_active = sum(b.class_name == name for b in active)
        n_shadow = sum(b.class_name == name for b in shadow)
        both = _pairs(shadow, active, name)
        assert (row.active_boxes, row.shadow_boxes) == (n_active, n_shadow)
        assert (row.agreed.hits, row.agreed.n) == (both, n_active)
        assert (row.shadow_agreed.hits, row.shadow_agreed.n) == (both, n_shadow)
        assert row.human_boxes == sum(b.class_name == name for b in human)
        for boxes, score in ((active, row.active), (shadow, row.shadow)):
            judged = [b for b in boxes if b.image in truths]
            hits = _pairs(judged, human, name)
            assert (score.precision.hits, score.precision.n) == (
                hits,
                sum(b.class_name == name for b in judged),
            )
            assert (score.recall.hits, score.recall.n) == (hits, row.human_boxes)


def test_a_share_carries_its_clopper_pearson_bounds() -> None:
    share = Share(9, 10)
    assert share.value == 0.9
    assert share.lower == pytest.approx(precision.lower_bound(9, 10))
    assert share.upper == pytest.approx(1 - precision.lower_bound(1, 10))
    assert share.lower < 0.9 < share.upper
    assert (Share(0, 0).value, Share(0, 0).lower, Share(0, 0).upper) == (None, 0.0, 1.0)
    assert Share(10, 10).upper == 1.0


PARCEL = (20.0, 30.0, 120.0, 150.0)
LABEL = (150.0, 40.0, 250.0, 90.0)
NEAR_PARCEL = (24.0, 34.0, 124.0, 154.0)  # IoU with PARCEL about 0.88
DAMAGE = (200.0, 150.0, 260.0, 200.0)


@pytest.mark.django_db
def test_the_comparison_of_a_facility_on_hand_made_boxes_and_verdicts(
    facility: Facility, reviewer: Any
) -> None:
    """Four images the shadow ran on (a fifth it did not), all with the active model's parcel
    and label boxes:
    - 0: audit confirmed; the shadow found the parcel (nearby) and a damage the person did not;
    - 1: audit corrected to the parcel alone; the shadow found parcel and label;
    - 2: audit rejected as "no package": every box wrong; the shadow found nothing;
    - 3: not decided; the shadow found the parcel only.
    Agreement (all 4 images): active parcels 4, shadow parcels 3, all on an active one; active
    labels 4, shadow labels 1 (image 1). Against people (images 0-2): people drew parcel 2,
    label 1; active parcel 2/3 correct, label 1/3; shadow parcel 2/2, label 0/1, damage 0/1."""
    shadow = candidate_model()
    batch = accepted_batch(facility, 5)
    facility = with_models(facility, parcel_model(), shadow)
    images = list(batch.images.order_by("position"))
    found = {0: [(0, 0.9, NEAR_PARCEL), (2, 0.7, DAMAGE)], 1: [(0, 0.8, PARCEL), (1, 0.6, LABEL)]}
    found |= {2: [], 3: [(0, 0.95, PARCEL)]}
    for index, boxes in found.items():
        add_shadow_boxes(images[index], shadow, boxes)
    parcel_only = [ReviewerBox(0, "parcel", *PARCEL)]
    verdicts = [
        DecisionRequest("accepted"),
        DecisionRequest("accepted", boxes=parcel_only),
        DecisionRequest("rejected", reason="no_package"),
    ]
    for image, request in zip(images, verdicts, strict=False):
        task = audit_task(image)
        assert leases.claim_task(task, reviewer)
        decide(task, reviewer, request)

    result = comparison(facility)
    assert result is not None
    assert (result.images, result.judged_images, result.min_confidence) == (4, 3, 0.1)
    rows = {row.class_name: row for row in result.classes}
    parcel, label, damage = rows["parcel"], rows["label"], rows["damage"]
    assert (parcel.agreed.hits, parcel.agreed.n, parcel.shadow_agreed.n) == (3, 4, 3)
    assert (label.agreed.hits, label.agreed.n, label.shadow_agreed.n) == (1, 4, 1)
    assert (damage.active_boxes, damage.shadow_boxes, damage.shadow_agreed.hits) == (0, 1, 0)
    assert (parcel.human_boxes, label.human_boxes, damage.human_boxes) == (2, 1, 0)
    assert (parcel.active.precision.hits, parcel.active.precision.n) == (2, 3)
    assert (label.active.precision.hits, label.active.precision.n) == (1, 3)
    assert (parcel.shadow.precision.hits, parcel.shadow.precision.n) == (2, 2)
    assert (label.shadow.precision.hits, label.shadow.precision.n) == (0, 1)
    assert (damage.shadow.precision.hits, damage.shadow.precision.n) == (0, 1)
    assert (parcel.active.recall.hits, parcel.active.recall.n) == (2, 2)
    assert (label.shadow.recall.hits, label.shadow.recall.n) == (0, 1)
    assert parcel.shadow.precision.lower == pytest.approx(precision.lower_bound(2, 2))


@pytest.mark.django_db
def test_no_comparison_without_a_shadow(facility: Facility) -> None:
    assert comparison(with_models(facility, parcel_model(), None)) is None
