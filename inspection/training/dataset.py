"""Read a generated YOLO data set back: one Sample per image of a split, with its ground truth in
original pixels and the capture-problem subsets it belongs to (from manifest.jsonl)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from inspection.training.calibration import GroundTruth

SUBSETS: dict[str, tuple[str, ...]] = {
    "blur": ("motion_blur", "focus_blur"),
    "dark": ("low_light",),
    "glare": ("glare",),
    "jpeg": ("heavy_jpeg",),
    "rotated": ("rotation",),
    "noise": ("noise",),
}
SUBSET_ORDER = ("all", "clean", *SUBSETS)


@dataclass(frozen=True)
class Sample:
    image: str  # path relative to the data set root; also the image id
    path: Path
    width: int
    height: int
    subsets: frozenset[str]
    truths: tuple[GroundTruth, ...]


def dataset_root(data_yaml: Path) -> Path:
    loaded = yaml.safe_load(data_yaml.read_text())
    root = Path(loaded.get("path") or data_yaml.parent)
    return root if root.is_absolute() else (data_yaml.parent / root).resolve()


def subsets_of(problems: list[str]) -> frozenset[str]:
    names = {name for name, members in SUBSETS.items() if set(members) & set(problems)}
    return frozenset({"all", *(names or {"clean"})})


def read_truths(label_file: Path, image: str, width: int, height: int) -> tuple[GroundTruth, ...]:
    truths = []
    for line in label_file.read_text().splitlines():
        if line.strip():
            cls, cx, cy, w, h = line.split()
            x, y = float(cx) * width, float(cy) * height
            bw, bh = float(w) * width, float(h) * height
            box = (x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2)
            truths.append(GroundTruth(image, int(cls), box))
    return tuple(truths)


def load_split(data_yaml: Path, split: str) -> list[Sample]:
    root = dataset_root(data_yaml)
    samples = []
    for line in (root / "manifest.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["split"] == split:
            samples.append(_sample(root, row))
    return samples


def _sample(root: Path, row: dict[str, object]) -> Sample:
    image, width, height = str(row["file"]), int(row["width"]), int(row["height"])  # type: ignore[call-overload]
    problems = [str(p["name"]) for p in row["problems"]]  # type: ignore[attr-defined]
    truths = read_truths(root / str(row["labels"]), image, width, height)
    return Sample(image, root / image, width, height, subsets_of(problems), truths)
