"""`evaluate_model` end to end with the committed weights on a small generated set: real image
decoding, the service's preprocessing, a real forward pass. The counts are checked against the
label files, and the model must find most parcels. (`calibrate_thresholds` on such a set, an
operator command of the service: tests/test_calibration_command.py.)"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch
from django.core.management import call_command

from inspection.calibration.offline import configure_offline
from lab.synthetic.parcels import CLASS_NAMES
from lab.training.report import calibration_source
from tests.generated_sets import WEIGHTS, small_labelled_set

pytestmark = [pytest.mark.training, pytest.mark.usefixtures("keep_torch_threads")]


@pytest.fixture(scope="module")
def data_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_labelled_set(tmp_path_factory.mktemp("evalset"))


def label_counts(data_yaml: Path, split: str) -> tuple[int, dict[str, int]]:
    files = sorted((data_yaml.parent / "labels" / split).glob("*.txt"))
    counts = dict.fromkeys(CLASS_NAMES, 0)
    for file in files:
        for line in file.read_text().splitlines():
            counts[CLASS_NAMES[int(line.split()[0])]] += 1
    return len(files), counts


def test_evaluate_model_reports_every_class_and_subset(data_yaml: Path, tmp_path: Path) -> None:
    configure_offline()
    out, card = tmp_path / "eval.json", tmp_path / "eval.md"
    call_command(
        "evaluate_model",
        "--model",
        str(WEIGHTS),
        "--data",
        str(data_yaml),
        "--json",
        str(out),
        "--markdown",
        str(card),
        "--imgsz",
        "416",
        stdout=io.StringIO(),
    )
    report = json.loads(out.read_text())

    images, truths = label_counts(data_yaml, "test")
    everything = report["subsets"]["all"]
    assert report["imgsz"] == 416  # --imgsz wins over the size the weights were trained at
    assert (report["images"], everything["images"]) == (images, images)
    assert {c: everything[c]["truths"] for c in CLASS_NAMES} == truths
    assert report["map"]["per_class"]["parcel"]["mAP50"] >= 0.8  # it does detect parcels
    assert 0.0 < report["map"]["mAP50"] <= 1.0
    assert set(report["map"]["per_class"]) <= set(CLASS_NAMES)
    assert set(report["calibration"]["classes"]) == set(CLASS_NAMES)
    val_images = label_counts(data_yaml, "val")[0]
    assert report["calibration"]["images"] == val_images
    assert report["lighting_normalization"]["off"]["all"]["images"] == images
    boards = report["damage_by_board"].values()
    assert sum(row["truths"] for row in boards) == truths["damage"]
    rows = card.read_text().splitlines()
    parcel_map = report["map"]["per_class"]["parcel"]
    assert f"| parcel | {parcel_map['mAP50']:.3f} | {parcel_map['mAP50-95']:.3f} |" in rows
    assert sum(
        row.startswith(f"| {name} | {report['subsets'][name]['images']} |")
        for row in rows
        for name in report["subsets"]
    ) == len(report["subsets"])
    source = f"the val split ({val_images} images)"
    assert f"Thresholds calibrated on {source} for precision 0.95:" in rows
    # The offline tools undo ultralytics' one-thread choice (select_device) on the CPU.
    assert torch.get_num_threads() == (os.cpu_count() or 1)


def test_the_report_says_when_thresholds_come_from_another_data_set() -> None:
    report: dict[str, Any] = {
        "data": "test-set/data.yaml",
        "calibration": {"data": "field-600/data.yaml", "split": "val", "images": 600},
    }
    assert calibration_source(report) == "the val split of another data set (600 images)"
    report["calibration"]["data"] = report["data"]
    assert calibration_source(report) == "the val split (600 images)"
