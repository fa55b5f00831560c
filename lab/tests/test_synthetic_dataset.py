"""The synthetic dataset: deterministic, YOLO layout, correct labels, controlled problem mix."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from lab.synthetic import TINY_RESOLUTIONS, GeneratorConfig, generate_dataset
from lab.synthetic.dataset import MANIFEST, SPLITS, assign_splits
from lab.synthetic.problems import (
    PROBLEMS,
    ProblemMix,
    expected_rates,
    sample_problems,
)

pytestmark = pytest.mark.training

TINY = GeneratorConfig(resolutions=TINY_RESOLUTIONS)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "data.yaml"  # data.yaml holds the absolute path
    }


def read_labels(path: Path) -> list[tuple[int, float, float, float, float]]:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    generate_dataset(out, 30, seed=11, config=TINY)
    return out


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "a", 6, seed=5, config=TINY)
    generate_dataset(tmp_path / "b", 6, seed=5, config=TINY)
    generate_dataset(tmp_path / "c", 6, seed=6, config=TINY)
    first, second = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert first == second
    other = tree_bytes(tmp_path / "c")
    images = [name for name in first if name.endswith(".jpg")]
    assert all(first[n] != other.get(n.replace("s5_", "s6_")) for n in images)


def test_layout_and_data_yaml_load(dataset: Path) -> None:
    data = yaml.safe_load((dataset / "data.yaml").read_text())
    assert data["names"] == {0: "parcel", 1: "label", 2: "damage"}
    assert Path(data["path"]) == dataset.resolve()
    for split in SPLITS:
        images = sorted((dataset / data[split]).glob("*.jpg"))
        labels = sorted((dataset / "labels" / split).glob("*.txt"))
        assert [p.stem for p in images] == [p.stem for p in labels]
    assert len(list((dataset / "images").rglob("*.jpg"))) == 30


def test_manifest_rows_describe_each_image(dataset: Path) -> None:
    rows = [json.loads(line) for line in (dataset / MANIFEST).read_text().splitlines()]
    assert len(rows) == 30
    for row in rows:
        assert (dataset / row["file"]).is_file()
        assert row["split"] in SPLITS and row["seed"] == 11
        assert {"width", "height", "aspect", "problems", "jpeg_quality"} <= row.keys()
        assert all(p["name"] in PROBLEMS for p in row["problems"])
    assert Counter(r["split"] for r in rows) == {"train": 24, "val": 3, "test": 3}


def test_boxes_are_inside_normalised_and_on_parcels(dataset: Path) -> None:
    label_files = list((dataset / "labels").rglob("*.txt"))
    seen: Counter[int] = Counter()
    for path in label_files:
        boxes = read_labels(path)
        parcels = [b for b in boxes if b[0] == 0]
        for cls, cx, cy, w, h in boxes:
            seen[cls] += 1
            assert cls in (0, 1, 2) and w > 0 and h > 0
            assert 0 <= cx - w / 2 + 1e-6 and cx + w / 2 <= 1 + 1e-6
            assert 0 <= cy - h / 2 + 1e-6 and cy + h / 2 <= 1 + 1e-6
            if cls != 0:
                assert max(overlap((cx, cy, w, h), p[1:]) for p in parcels) > 0.9
    assert seen[0] > 20 and seen[1] > 10  # the set really contains parcels and labels


def overlap(inner: tuple[float, ...], outer: tuple[float, ...]) -> float:
    """Share of `inner` box area lying within `outer` (both cx, cy, w, h)."""
    ix = min(inner[0] + inner[2] / 2, outer[0] + outer[2] / 2) - max(
        inner[0] - inner[2] / 2, outer[0] - outer[2] / 2
    )
    iy = min(inner[1] + inner[3] / 2, outer[1] + outer[3] / 2) - max(
        inner[1] - inner[3] / 2, outer[1] - outer[3] / 2
    )
    return max(ix, 0) * max(iy, 0) / (inner[2] * inner[3])


def test_problem_sampler_matches_its_parameters() -> None:
    import numpy as np

    mix = ProblemMix(clean=0.3, weights={"noise": 3.0, "glare": 1.0}, combined=0.5)
    rng = np.random.default_rng(0)
    draws = [sample_problems(rng, mix, 640, 480) for _ in range(4000)]
    rates = expected_rates(mix)
    assert abs(sum(not d for d in draws) / 4000 - rates["clean"]) < 0.03
    for name in ("noise", "glare"):
        share = sum(any(p.name == name for p in d) for d in draws) / 4000
        assert abs(share - rates[name]) < 0.03


def test_generated_proportions_follow_the_mix(tmp_path: Path) -> None:
    mix = ProblemMix(clean=0.5, combined=0.0)
    config = GeneratorConfig(resolutions=((64, 48, 1.0),), mix=mix)
    generate_dataset(tmp_path, 100, seed=3, config=config)
    rows = [json.loads(line) for line in (tmp_path / MANIFEST).read_text().splitlines()]
    clean = sum(not row["problems"] for row in rows)
    assert 35 <= clean <= 65
    assert all(len(row["problems"]) <= 1 for row in rows)
    assert len({p["name"] for row in rows for p in row["problems"]}) >= 5


def test_splits_are_exact_and_seeded() -> None:
    a = assign_splits(50, 1, (0.6, 0.2, 0.2))
    assert Counter(a) == {"train": 30, "val": 10, "test": 10}
    assert a == assign_splits(50, 1, (0.6, 0.2, 0.2)) != assign_splits(50, 2, (0.6, 0.2, 0.2))
