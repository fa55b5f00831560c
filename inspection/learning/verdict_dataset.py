"""The human verdicts of one facility since a date, written as a YOLO data set to fine-tune the
facility's model on (docs/learning.md, "Retrain from verdicts"; the lab's
`retrain_from_verdicts` command trains on it).

Which images, and which boxes are their labels:
- **reviewed and accepted** (`Image.verdict` accepted, by `reviewed_at`): a review, or an audit
  that corrected the pipeline's result. The labels are the reviewer's final boxes (Detection
  rows with `source=reviewer`; an accept that kept the model's boxes copied them there).
- **audited and confirmed** (an audit decision `accept` that stands, the image's verdict still
  blank, by the decision's time): a person looked at the model's boxes and kept them as they
  were, so the model's boxes are the labels.
Rejected images are left out, as in the review exports: a reject says the picture is unusable or
cannot be labelled, not what is in it. Images are the originals turned by their EXIF
orientation, the geometry every stored box lives in.

Class ids are the target model's: boxes are matched to its class list by name, so an image
reviewed under a model with another class order keeps its meaning; an image holding a class the
model does not have is left out (its label file would be missing an object) and counted.

Train/val split by image id: the first 8 bytes of `SHA-256("inspection-retrain:" + id)` as a
number in [0, 1), validation when below the share. An image keeps its side in every later
export (a model is never validated on what an earlier run of it trained on), and the split is
independent of what the images show.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path

import PIL.Image
from django.db.models import Q, QuerySet
from django.utils import timezone

from inspection.models import Facility, Image, ReviewDecision, ReviewTask
from inspection.review.boxes import Box
from inspection.review.display import image_jpeg
from inspection.review.exports import data_yaml, yolo_line
from inspection.services import DomainError

VAL_SHARE = 0.2
MIN_IMAGES = 20
SPLIT_SALT = "inspection-retrain:"
SPLITS = ("train", "val")
JPEG_QUALITY = 95


class RetrainRefused(DomainError):
    code = "retrain_refused"


@dataclass(frozen=True)
class LabelledImage:
    image: Image
    boxes: tuple[Box, ...]  # class ids of the target model, original (oriented) pixels


@dataclass
class VerdictDataset:
    """What was written: `data_yaml` is what ultralytics and the calibration read."""

    data_yaml: Path
    class_names: tuple[str, ...]
    splits: dict[str, list[str]] = field(default_factory=dict)  # split -> image ids
    boxes_per_class: Counter[str] = field(default_factory=Counter)
    images_per_class: Counter[str] = field(default_factory=Counter)  # images holding the class
    # Images left out because they hold classes the model lacks: image id -> those classes.
    unknown_classes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def images(self) -> int:
        return sum(len(ids) for ids in self.splits.values())


# --- which images -----------------------------------------------------------------------------


def start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the service's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def verdict_images(facility: Facility, since: datetime) -> QuerySet[Image]:
    """A facility's images with a standing human verdict that keeps them labelled, since
    `since` (a selector: the caller chose the facility)."""
    reviewed = Q(verdict=Image.Verdict.ACCEPTED, reviewed_at__gte=since)
    confirmed = Q(verdict="", status=Image.Status.ACCEPTED, pk__in=_confirmed_audits(since))
    return (
        Image.objects.filter(reviewed | confirmed, facility=facility)
        .prefetch_related("detections")
        .order_by("pk")
    )


def _confirmed_audits(since: datetime) -> QuerySet[ReviewDecision, uuid.UUID]:
    return (
        ReviewDecision.objects.effective()
        .filter(
            task__kind=ReviewTask.Kind.AUDIT,
            action=ReviewDecision.Action.ACCEPT,
            decided_at__gte=since,
        )
        .values_list("image_id", flat=True)
    )


def labelled(image: Image, class_names: Sequence[str]) -> LabelledImage | list[str]:
    """The image's final boxes with the model's class ids, or the class names it lacks."""
    ids = {name: class_id for class_id, name in enumerate(class_names)}
    # In the order they were stored (the reviewer's rows have no confidence to order them by).
    boxes = [Box.of(d) for d in sorted(image.final_detections(), key=lambda d: d.pk)]
    unknown = sorted({box.class_name for box in boxes if box.class_name not in ids})
    if unknown:
        return unknown
    return LabelledImage(image, tuple(replace(b, class_id=ids[b.class_name]) for b in boxes))


# --- the split --------------------------------------------------------------------------------


def split_draw(image_id: object) -> float:
    digest = hashlib.sha256(f"{SPLIT_SALT}{image_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_ids(image_ids: Iterable[str], val_share: float = VAL_SHARE) -> dict[str, list[str]]:
    """Image ids by split. Both splits must hold an image (ultralytics validates every epoch,
    calibration needs a val split): when the draw leaves one empty, the image whose draw is
    nearest the other side moves, which is still a function of the ids alone."""
    ids = sorted(image_ids, key=split_draw)
    cut = sum(1 for image_id in ids if split_draw(image_id) < val_share)
    cut = min(max(cut, 1), len(ids) - 1)
    return {"train": sorted(ids[cut:]), "val": sorted(ids[:cut])}


# --- writing ----------------------------------------------------------------------------------


def export_verdicts(
    facility: Facility,
    since: datetime,
    out_dir: Path,
    class_names: Sequence[str],
    min_images: int = MIN_IMAGES,
    val_share: float = VAL_SHARE,
) -> VerdictDataset:
    """Write the data set into `out_dir` (replaced). Raises RetrainRefused when there are no
    verdicts since `since` or fewer than `min_images` usable images."""
    dataset = VerdictDataset(out_dir / "data.yaml", tuple(class_names))
    items = _usable(facility, since, dataset)
    _check_enough(facility, since, items, dataset, max(min_images, 2))
    dataset.splits = split_ids((str(item.image.pk) for item in items), val_share)
    side = {image_id: name for name, ids in dataset.splits.items() for image_id in ids}
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for item in items:
        write_image(out_dir, side[str(item.image.pk)], item)
        dataset.boxes_per_class.update(box.class_name for box in item.boxes)
        dataset.images_per_class.update({box.class_name for box in item.boxes})
    names = dict(enumerate(class_names))
    dataset.data_yaml.write_text(data_yaml(names, train="images/train", val="images/val"))
    return dataset


def _usable(facility: Facility, since: datetime, dataset: VerdictDataset) -> list[LabelledImage]:
    items: list[LabelledImage] = []
    for image in verdict_images(facility, since):
        found = labelled(image, dataset.class_names)
        if isinstance(found, LabelledImage):
            items.append(found)
        else:
            dataset.unknown_classes[str(image.pk)] = found
    return items


def _check_enough(
    facility: Facility,
    since: datetime,
    items: list[LabelledImage],
    dataset: VerdictDataset,
    min_images: int,
) -> None:
    when = timezone.localtime(since).date().isoformat()
    if not items and not dataset.unknown_classes:
        raise RetrainRefused(
            f"No reviewed or audited images of facility '{facility.slug}' since {when}: "
            "nothing to retrain on (rejected images carry no labels)."
        )
    if len(items) < min_images:
        left_out = _left_out(dataset)
        raise RetrainRefused(
            f"Only {len(items)} usable verdict image(s) of facility '{facility.slug}' since "
            f"{when}{left_out}; at least {min_images} are needed (--min-images)."
        )


def _left_out(dataset: VerdictDataset) -> str:
    if not dataset.unknown_classes:
        return ""
    classes = sorted({name for names in dataset.unknown_classes.values() for name in names})
    return (
        f" ({len(dataset.unknown_classes)} more hold classes the model does not have: "
        f"{', '.join(classes)})"
    )


def write_image(out_dir: Path, split: str, item: LabelledImage) -> None:
    """The oriented original as JPEG and its label file (an empty one: nothing there)."""
    jpeg = image_jpeg(item.image, quality=JPEG_QUALITY)
    # The decoded picture's own size, not the row's: the boxes are normalized by what is written.
    width, height = PIL.Image.open(io.BytesIO(jpeg)).size
    stem = str(item.image.pk)
    images, labels = out_dir / "images" / split, out_dir / "labels" / split
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    (images / f"{stem}.jpg").write_bytes(jpeg)
    lines = [yolo_line(clipped(box, width, height), width, height) for box in item.boxes]
    (labels / f"{stem}.txt").write_text("".join(f"{line}\n" for line in lines))


def clipped(box: Box, width: int, height: int) -> Box:
    """Inside the picture: ultralytics drops a whole image whose label reaches past its edge,
    and a reviewer's box dragged a pixel over it means the edge."""
    return replace(
        box,
        x1=min(max(box.x1, 0.0), width),
        y1=min(max(box.y1, 0.0), height),
        x2=min(max(box.x2, 0.0), width),
        y2=min(max(box.y2, 0.0), height),
    )
