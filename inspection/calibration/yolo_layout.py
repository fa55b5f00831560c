"""Any YOLO-format data set in ultralytics' layout, for ML engineers' own labelled photos: a
data.yaml whose split entry names an image folder, a text file listing images, or a list of
those; each image's labels in the parallel `labels/` folder (a missing file means no objects)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import PIL.Image

from inspection.calibration.thresholds import Box, GroundTruth
from inspection.preprocessing.decode import read_orientation
from inspection.preprocessing.geometry import oriented_size

# ultralytics' image suffixes (data/utils.py IMG_FORMATS), the ones Pillow reads.
IMAGE_SUFFIXES = frozenset({".bmp", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp"})


class DataSetError(ValueError):
    """A data set that cannot be read as YOLO format; the message says which file and why."""


def image_files(root: Path, entry: object) -> list[Path]:
    """The images a data.yaml split entry names (folders are searched recursively)."""
    entries = entry if isinstance(entry, list) else [entry]
    files: list[Path] = []
    for item in entries:
        files += _images_of(_under(root, str(item)))
    return sorted(dict.fromkeys(files))


def _under(root: Path, item: str) -> Path:
    path = Path(item)
    return path if path.is_absolute() else root / path


def _images_of(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from (p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    elif path.is_file() and path.suffix == ".txt":
        # ultralytics: lines are paths, "./x.jpg" relative to the list file's folder.
        for line in path.read_text().splitlines():
            if line.strip():
                yield _under(path.parent, line.strip())
    else:
        raise DataSetError(f"{path}: no such image folder or image list")


def label_file(image: Path) -> Path:
    """ultralytics' rule: the last `/images/` in the path becomes `/labels/`, suffix `.txt`."""
    images, labels = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    text = str(image)
    if images in text:
        text = labels.join(text.rsplit(images, 1))
    return Path(text).with_suffix(".txt")


def oriented_image_size(image: Path) -> tuple[int, int]:
    """Width and height as labelled: after the EXIF orientation, as ultralytics reads them."""
    try:
        with PIL.Image.open(image) as opened:
            return oriented_size(opened.width, opened.height, read_orientation(opened))
    except (OSError, PIL.Image.DecompressionBombError) as exc:
        raise DataSetError(f"{image}: not a readable image ({exc})") from exc


def parse_labels(
    text: str, source: str, image: str, width: int, height: int, n_classes: int
) -> tuple[GroundTruth, ...]:
    """Box lines `class cx cy w h`, or polygon lines `class x1 y1 x2 y2 ...` (their bounding box,
    as ultralytics trains detection on segmentation labels), normalised to the image."""
    truths = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            class_id, values = _parse_line(line, f"{source}:{number}", n_classes)
            truths.append(GroundTruth(image, class_id, _pixel_box(values, width, height)))
    return tuple(truths)


def _parse_line(line: str, where: str, n_classes: int) -> tuple[int, list[float]]:
    fields = line.split()
    try:
        class_id, values = int(fields[0]), [float(v) for v in fields[1:]]
    except ValueError as exc:
        raise DataSetError(f"{where}: not a label line ({line.strip()!r})") from exc
    if not 0 <= class_id < n_classes:
        raise DataSetError(
            f"{where}: class {class_id} is not one of the data set's {n_classes} classes"
        )
    if len(values) != 4 and (len(values) < 6 or len(values) % 2):
        raise DataSetError(
            f"{where}: expected 'class cx cy w h' or a polygon, got {len(values)} numbers"
        )
    return class_id, values


def _pixel_box(values: list[float], width: int, height: int) -> Box:
    if len(values) == 4:
        x, y = values[0] * width, values[1] * height
        w, h = values[2] * width, values[3] * height
        return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
    xs, ys = values[0::2], values[1::2]
    return (min(xs) * width, min(ys) * height, max(xs) * width, max(ys) * height)
