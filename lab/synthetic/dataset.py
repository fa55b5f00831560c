"""Write a YOLO dataset: images/<split>/*.jpg, labels/<split>/*.txt, data.yaml and a manifest
row per image (manifest.jsonl). Image i depends only on (seed, i, config), so any image can be
regenerated alone and two runs with the same inputs write identical bytes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from lab.synthetic.example import Example, render_example
from lab.synthetic.parcels import CLASS_NAMES
from lab.synthetic.plan import GeneratorConfig, aspect_name, plan_image

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class Summary:
    out: Path
    count: int
    seconds: float
    per_split: dict[str, int]

    @property
    def images_per_second(self) -> float:
        return self.count / max(self.seconds, 1e-9)


def image_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def generate_example(seed: int, index: int, config: GeneratorConfig) -> Example:
    rng = image_rng(seed, index)
    return render_example(rng, plan_image(rng, config), config)


def assign_splits(count: int, seed: int, fractions: tuple[float, float, float]) -> list[str]:
    """Exact split sizes (rounded), shuffled by the seed so every split mixes all settings."""
    total = sum(fractions)
    n_train = round(count * fractions[0] / total)
    n_val = min(round(count * fractions[1] / total), count - n_train)
    names = ["train"] * n_train + ["val"] * n_val + ["test"] * (count - n_train - n_val)
    order = np.random.default_rng([seed, 2**31]).permutation(count)
    return [names[int(i)] for i in order]


def generate_dataset(
    out: Path,
    count: int,
    seed: int,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
    config: GeneratorConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    config = config or GeneratorConfig()
    _make_dirs(out)
    splits = assign_splits(count, seed, split)
    started = time.perf_counter()
    with (out / MANIFEST).open("w") as manifest:
        for index, name in enumerate(splits):
            example = generate_example(seed, index, config)
            row = write_example(out, name, f"s{seed}_{index:06d}", example)
            manifest.write(json.dumps(row | {"seed": seed, "index": index}) + "\n")
            if progress:
                progress(index + 1, count)
    write_data_yaml(out)
    counts = {name: splits.count(name) for name in SPLITS}
    return Summary(out, count, time.perf_counter() - started, counts)


def _make_dirs(out: Path) -> None:
    for kind in ("images", "labels"):
        for name in SPLITS:
            (out / kind / name).mkdir(parents=True, exist_ok=True)


def write_example(out: Path, split: str, stem: str, example: Example) -> dict[str, object]:
    image_path = Path("images") / split / f"{stem}.jpg"
    label_path = Path("labels") / split / f"{stem}.txt"
    (out / image_path).write_bytes(example.jpeg())
    lines = example.yolo_lines()
    (out / label_path).write_text("\n".join(lines) + ("\n" if lines else ""))
    return manifest_row(example, image_path, label_path, split)


def manifest_row(example: Example, image: Path, label: Path, split: str) -> dict[str, object]:
    plan = example.plan
    return {
        "file": image.as_posix(),
        "labels": label.as_posix(),
        "split": split,
        "width": example.width,
        "height": example.height,
        "aspect": aspect_name(example.width, example.height),
        "scene": plan.kind,
        "jpeg_quality": plan.quality,
        "problems": [{"name": p.name, **p.params} for p in plan.problems],
        "objects": {
            name: sum(b.class_id == i for b in example.boxes) for i, name in enumerate(CLASS_NAMES)
        },
    }


def write_data_yaml(out: Path) -> None:
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "test": "images/test",
        "names": dict(enumerate(CLASS_NAMES)),
    }
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
