"""Reviewed and audited images of a facility since a date, written as a YOLO data set to
retrain on (inspection/learning/verdict_dataset.py): which images, which boxes, in which class
ids, on which side of the train/val split."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.utils import timezone
from PIL import Image as PillowImage

from inspection import storage
from inspection.learning import verdict_dataset
from inspection.learning.verdict_dataset import (
    RetrainRefused,
    export_verdicts,
    split_draw,
    split_ids,
    start_of,
)
from inspection.models import Facility, Image, ReviewTask
from inspection.review import leases
from inspection.review.boxes import Box as ReviewerBox
from inspection.review.decisions import DecisionRequest, decide
from tests import images
from tests.learning_support import ACCEPTED_BOXES, accepted_batch, audit_task
from tests.review_support import make_task

pytestmark = pytest.mark.usefixtures("media_root")

NAMES = ("parcel", "label", "damage")
# A reviewer's answer on a 320x240 photo: a parcel and a damage box.
FIXED = [ReviewerBox(0, "parcel", 32, 24, 160, 144), ReviewerBox(2, "damage", 200, 120, 280, 200)]


def labels(dataset: verdict_dataset.VerdictDataset, image: Image) -> list[list[float]]:
    """The label file of `image`, as [class, cx, cy, w, h] rows."""
    root = dataset.data_yaml.parent
    (found,) = list(root.glob(f"labels/*/{image.pk}.txt"))
    return [[float(v) for v in line.split()] for line in found.read_text().splitlines()]


def review(task: ReviewTask, reviewer: Any, request: DecisionRequest) -> Image:
    leases.claim_task(task, reviewer)
    decide(task, reviewer, request)
    return Image.objects.get(pk=task.image_id)


def reviewed(facility: Facility, reviewer: Any, request: DecisionRequest, **fields: Any) -> Image:
    return review(make_task(facility, **fields), reviewer, request)


def audited(facility: Facility, reviewer: Any, request: DecisionRequest) -> Image:
    """An auto-accepted 320x240 photo (stored) drawn for audit, and the audit's verdict."""
    image = accepted_batch(facility, 1).images.get()
    key, sha = storage.store_original(images.photo_jpeg(320, 240, seed=5))
    Image.objects.filter(pk=image.pk).update(storage_key=key, content_hash=sha)
    return review(audit_task(image), reviewer, request)


def export(facility: Facility, out: Path, **options: Any) -> verdict_dataset.VerdictDataset:
    since = start_of(timezone.localdate())
    return export_verdicts(facility, since, out, NAMES, **{"min_images": 1, **options})


def filler(facility: Facility, reviewer: Any) -> Image:
    """A second reviewed image: a data set needs one on each side of the split."""
    return reviewed(facility, reviewer, DecisionRequest("accepted"), name="filler.jpg")


def normalized(box: Sequence[float], width: int = 320, height: int = 240) -> list[float]:
    x1, y1, x2, y2 = box
    return [(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height]


def test_a_corrected_review_is_labelled_with_the_reviewers_boxes(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    image = reviewed(facility, reviewer, DecisionRequest("accepted", FIXED))
    filler(facility, reviewer)  # the model's parcel and label, kept
    dataset = export(facility, tmp_path / "data")
    rows = labels(dataset, image)
    assert [row[0] for row in rows] == [0, 2]
    assert rows[0][1:] == pytest.approx(normalized([32, 24, 160, 144]), abs=1e-6)
    assert rows[1][1:] == pytest.approx(normalized([200, 120, 280, 200]), abs=1e-6)
    assert dataset.boxes_per_class == {"parcel": 2, "label": 1, "damage": 1}
    assert dataset.images_per_class == {"parcel": 2, "label": 1, "damage": 1}


def test_images_per_class_count_an_image_once_and_boxes_each_time(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    two_parcels = [FIXED[0], ReviewerBox(0, "parcel", 170, 10, 300, 100)]
    reviewed(facility, reviewer, DecisionRequest("accepted", two_parcels))
    reviewed(facility, reviewer, DecisionRequest("accepted", []))  # nothing there: a negative
    dataset = export(facility, tmp_path / "data")
    assert dataset.boxes_per_class == {"parcel": 2}
    assert dataset.images_per_class == {"parcel": 1}
    assert dataset.images == 2
    empty = [p for p in tmp_path.glob("data/labels/*/*.txt") if not p.read_text()]
    assert len(empty) == 1


def test_an_accepted_review_is_labelled_with_the_models_boxes_it_kept(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    image = reviewed(facility, reviewer, DecisionRequest("accepted"))  # the model's two boxes
    filler(facility, reviewer)
    rows = {int(row[0]): row[1:] for row in labels(export(facility, tmp_path / "data"), image)}
    assert sorted(rows) == [0, 1]
    assert rows[0] == pytest.approx(normalized([20, 30, 120, 150]), abs=1e-6)
    assert rows[1] == pytest.approx(normalized([150, 40, 250, 90]), abs=1e-6)


def test_audits_count_confirmed_with_the_models_boxes_and_corrected_with_the_reviewers(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    confirmed = audited(facility, reviewer, DecisionRequest("accepted"))
    assert confirmed.verdict == ""  # a confirmation leaves the pipeline's result in place
    parcel_only = [ReviewerBox(0, "parcel", 20.0, 30.0, 120.0, 150.0)]
    corrected = audited(facility, reviewer, DecisionRequest("accepted", parcel_only))
    dataset = export(facility, tmp_path / "data")
    rows = {int(row[0]): row[1:] for row in labels(dataset, confirmed)}
    assert sorted(rows) == [0, 1]
    assert rows[1] == pytest.approx(normalized(ACCEPTED_BOXES[1][2]), abs=1e-6)
    assert [row[0] for row in labels(dataset, corrected)] == [0]
    assert dataset.images == 2


def test_rejects_open_tasks_and_unaudited_results_are_left_out(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    kept = [reviewed(facility, reviewer, DecisionRequest("accepted")) for _ in range(2)]
    reviewed(facility, reviewer, DecisionRequest("rejected", reason="unusable_image"))
    audited(facility, reviewer, DecisionRequest("rejected", reason="no_package"))
    make_task(facility)  # still waiting for a reviewer
    accepted_batch(facility, 2)  # auto-accepted, never looked at
    audit_task(accepted_batch(facility, 1).images.get())  # drawn for audit, not yet decided
    dataset = export(facility, tmp_path / "data")
    assert sorted(sum(dataset.splits.values(), [])) == sorted(str(image.pk) for image in kept)


def test_only_verdicts_since_the_date_count(
    facility: Facility, reviewer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recent = [reviewed(facility, reviewer, DecisionRequest("accepted")) for _ in range(2)]
    old = reviewed(facility, reviewer, DecisionRequest("accepted"))
    Image.objects.filter(pk=old.pk).update(reviewed_at=timezone.now() - timedelta(days=3))
    moment = timezone.now() - timedelta(days=3)
    monkeypatch.setattr(timezone, "now", lambda: moment)  # the audit decision's time
    audited(facility, reviewer, DecisionRequest("accepted"))
    monkeypatch.undo()
    dataset = export(facility, tmp_path / "data")
    assert sorted(sum(dataset.splits.values(), [])) == sorted(str(image.pk) for image in recent)
    earlier = export_verdicts(
        facility, start_of(timezone.localdate() - timedelta(days=4)), tmp_path / "all", NAMES, 1
    )
    assert earlier.images == 4


def test_class_ids_are_the_models_by_name_and_unknown_classes_leave_the_image_out(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    image = reviewed(facility, reviewer, DecisionRequest("accepted", FIXED))
    filler(facility, reviewer)
    other = reviewed(facility, reviewer, DecisionRequest("accepted"))
    # Boxes of a class this model does not know (reviewed under another model, say).
    other.detections.filter(source="reviewer", class_id=1).update(class_name="pallet")
    reordered = ("damage", "parcel", "label")
    dataset = export_verdicts(
        facility, start_of(timezone.localdate()), tmp_path / "data", reordered, 1
    )
    assert [row[0] for row in labels(dataset, image)] == [1, 0]  # parcel 1, damage 0
    assert dataset.unknown_classes == {str(other.pk): ["pallet"]}
    written = yaml.safe_load(dataset.data_yaml.read_text())
    assert written["names"] == {0: "damage", 1: "parcel", 2: "label"}
    assert (written["train"], written["val"]) == ("images/train", "images/val")


def test_the_split_is_a_function_of_the_image_ids(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    for n in range(12):
        reviewed(facility, reviewer, DecisionRequest("accepted"), name=f"{n}.jpg")
    first = export(facility, tmp_path / "a", val_share=0.3)
    again = export(facility, tmp_path / "b", val_share=0.3)
    assert first.splits == again.splits
    drawn = {i for i in first.splits["train"] + first.splits["val"] if split_draw(i) < 0.3}
    if drawn:  # the draw decides, unless it left a side empty
        assert set(first.splits["val"]) == drawn
    for split, ids in first.splits.items():
        files = sorted(p.stem for p in (tmp_path / "a" / "images" / split).glob("*.jpg"))
        assert files == sorted(ids) and ids
        assert sorted(p.stem for p in (tmp_path / "a" / "labels" / split).glob("*.txt")) == files


def test_a_split_never_leaves_a_side_empty() -> None:
    ids = [f"00000000-0000-0000-0000-{n:012d}" for n in range(5)]
    assert len(split_ids(ids, val_share=0.0)["val"]) == 1
    assert len(split_ids(ids, val_share=1.0)["train"]) == 1
    nearest = min(ids, key=split_draw)
    assert split_ids(ids, val_share=0.0)["val"] == [nearest]
    assert split_ids(list(reversed(ids)), 0.5) == split_ids(ids, 0.5)


def test_images_are_written_upright_like_their_boxes(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    # Stored 640x480 with EXIF orientation 6: the boxes live on the upright 480x640 picture.
    box = [ReviewerBox(0, "parcel", 40, 400, 440, 620)]
    image = reviewed(
        facility,
        reviewer,
        DecisionRequest("accepted", box),
        data=images.exif_rotated_jpeg(6),
        size=(480, 640),
    )
    filler(facility, reviewer)
    dataset = export(facility, tmp_path / "data")
    (picture,) = list(tmp_path.glob(f"data/images/*/{image.pk}.jpg"))
    assert PillowImage.open(picture).size == (480, 640)
    (row,) = labels(dataset, image)
    assert row[1:] == pytest.approx(normalized([40, 400, 440, 620], 480, 640), abs=1e-6)


def test_no_verdicts_since_the_date_is_refused(facility: Facility, tmp_path: Path) -> None:
    with pytest.raises(RetrainRefused, match="No reviewed or audited images of facility 'dc-n"):
        export(facility, tmp_path / "data")


def test_too_few_images_is_refused_with_the_count(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    for _ in range(3):
        reviewed(facility, reviewer, DecisionRequest("accepted"))
    with pytest.raises(RetrainRefused, match=r"Only 3 usable .* at least 5 are needed"):
        export(facility, tmp_path / "data", min_images=5)
    assert not (tmp_path / "data").exists()
