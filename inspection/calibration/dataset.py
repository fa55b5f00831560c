"""Read a YOLO data set back: one Sample per image of a split, with its ground truth in original
pixels and, for a set the model lab generated, the capture problems it recorded per image in
manifest.jsonl; any other YOLO data set is read through `yolo_layout` (problems not recorded)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from inspection.calibration.thresholds import GroundTruth
from inspection.calibration.yolo_layout import (
    DataSetError,
    image_files,
    label_file,
    oriented_image_size,
    parse_labels,
)

MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class Sample:
    image: str  # path relative to the data set root; also the image id
    path: Path
    width: int
    height: int
    problems: tuple[str, ...] | None  # the manifest's capture problems; None: not recorded
    truths: tuple[GroundTruth, ...]


def read_data_yaml(data_yaml: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(data_yaml.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DataSetError(f"{data_yaml}: cannot read the data set's YAML ({exc})") from exc
    if not isinstance(loaded, dict) or not loaded.get("names"):
        raise DataSetError(f"{data_yaml}: not a YOLO data.yaml (no class `names`)")
    return loaded


def class_names_of(data_yaml: Path, loaded: dict[str, Any] | None = None) -> tuple[str, ...]:
    """The data set's classes in class-id order (`names` as a list or an id -> name map);
    `loaded` is data.yaml already read."""
    names = (loaded or read_data_yaml(data_yaml))["names"]
    if isinstance(names, dict):
        if sorted(names) != list(range(len(names))):
            raise DataSetError(f"{data_yaml}: class ids in `names` must be 0..{len(names) - 1}")
        return tuple(str(names[key]) for key in sorted(names))
    return tuple(str(name) for name in names)


def dataset_root(data_yaml: Path, loaded: dict[str, Any] | None = None) -> Path:
    root = Path((loaded or read_data_yaml(data_yaml)).get("path") or data_yaml.parent)
    return root if root.is_absolute() else (data_yaml.parent / root).resolve()


def validator_data_yaml(data_yaml: Path, folder: Path) -> Path:
    """ultralytics refuses a data.yaml without `train` and `val` (a set labelled only to
    calibrate or evaluate): a copy there names the set's first split for the missing ones."""
    loaded = read_data_yaml(data_yaml)
    if loaded.get("train") and loaded.get("val"):
        return data_yaml
    first = next(loaded[k] for k in ("val", "test", "train") if loaded.get(k))
    completed = {
        **loaded,
        "path": str(dataset_root(data_yaml, loaded)),
        "train": loaded.get("train") or first,
        "val": loaded.get("val") or first,
    }
    copy = folder / "data.yaml"
    copy.write_text(yaml.safe_dump(completed))
    return copy


def load_split(data_yaml: Path, split: str) -> list[Sample]:
    loaded = read_data_yaml(data_yaml)
    root, n_classes = dataset_root(data_yaml, loaded), len(class_names_of(data_yaml, loaded))
    if (root / MANIFEST).is_file():
        rows = [json.loads(line) for line in (root / MANIFEST).read_text().splitlines()]
        return [_generated(root, row, n_classes) for row in rows if row["split"] == split]
    entry = loaded.get(split)
    if not entry:
        raise DataSetError(f"{data_yaml}: no `{split}` split")
    samples = [_plain(root, image, n_classes) for image in image_files(root, entry)]
    if not samples:
        raise DataSetError(f"{data_yaml}: the `{split}` split holds no images")
    return samples


def _generated(root: Path, row: dict[str, Any], n_classes: int) -> Sample:
    image, width, height = str(row["file"]), int(row["width"]), int(row["height"])
    problems = tuple(str(p["name"]) for p in row["problems"])
    truths = _truths(root / str(row["labels"]), image, width, height, n_classes)
    return Sample(image, root / image, width, height, problems, truths)


def _plain(root: Path, path: Path, n_classes: int) -> Sample:
    image = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    width, height = oriented_image_size(path)
    truths = _truths(label_file(path), image, width, height, n_classes)
    return Sample(image, path, width, height, None, truths)


def _truths(
    labels: Path, image: str, width: int, height: int, n_classes: int
) -> tuple[GroundTruth, ...]:
    if not labels.is_file():
        return ()  # ultralytics: an image without a label file shows no objects
    return parse_labels(labels.read_text(), str(labels), image, width, height, n_classes)
