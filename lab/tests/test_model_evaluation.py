"""`evaluate_model` and `calibrate_thresholds` end to end with the committed weights on a small
generated set: real image decoding, the service's preprocessing, a real forward pass. The counts
are checked against the label files, and the model must find most parcels."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from django.conf import settings
from django.core.management import call_command

from lab.synthetic.parcels import CLASS_NAMES
from lab.training.calibration import precision_lower_bound
from lab.training.data import generate_tolerant
from lab.training.offline import configure_offline
from lab.training.recipe import training_config
from lab.training.report import calibration_source

WEIGHTS = Path(settings.BASE_DIR) / "models" / "default.pt"
pytestmark = pytest.mark.usefixtures("keep_torch_threads")


@pytest.fixture(scope="module")
def data_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evalset")
    generate_tolerant(root, 12, 41, (0.0, 0.5, 0.5), training_config(640))
    return root / "data.yaml"


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
    call_command("evaluate_model", "--model", str(WEIGHTS), "--data", str(data_yaml),
                 "--json", str(out), "--markdown", str(card), "--imgsz", "416",
                 stdout=io.StringIO())
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
    assert sum(row.startswith(f"| {name} | {report['subsets'][name]['images']} |")
               for row in rows for name in report["subsets"]) == len(report["subsets"])
    source = f"the val split ({val_images} images)"
    assert f"Thresholds calibrated on {source} for precision 0.95:" in rows
    # The offline tools undo ultralytics' one-thread choice (select_device) on the CPU.
    assert torch.get_num_threads() == (os.cpu_count() or 1)


@pytest.mark.django_db
def test_calibrate_thresholds_previews_the_review_load(data_yaml: Path, tmp_path: Path) -> None:
    configure_offline()
    out = tmp_path / "cal.json"
    call_command("calibrate_thresholds", "--model", str(WEIGHTS), "--data", str(data_yaml),
                 "--split", "val", "--min-confidence", "0.1", "--json", str(out),
                 stdout=io.StringIO())
    result = json.loads(out.read_text())

    images, truths = label_counts(data_yaml, "val")
    assert result["images"] == images
    assert {c: row["truths"] for c, row in result["classes"].items()} == truths
    for row in result["classes"].values():
        assert 0.0 <= row["threshold"] <= 1.0
        if row["target_reached"]:
            assert row["precision"] >= 0.95
    assert result["classes"]["parcel"]["target_reached"]
    load = result["review_load"]
    assert 0.0 <= load["detection_share"] <= 1.0 and 0 <= load["images"] <= images


@pytest.mark.django_db
def test_a_lower_damage_target_lowers_only_the_damage_threshold(
    data_yaml: Path, tmp_path: Path,
) -> None:
    configure_offline()
    rows, printed = {}, io.StringIO()
    for name, extra in (("strict", []), ("loose", ["--class-precision", "damage=0.5"])):
        out = tmp_path / f"{name}.json"
        call_command("calibrate_thresholds", "--model", str(WEIGHTS), "--data", str(data_yaml),
                     "--split", "val", "--json", str(out), *extra, stdout=printed)
        rows[name] = json.loads(out.read_text())["classes"]

    strict, loose = rows["strict"], rows["loose"]
    assert strict["damage"]["target_precision"] == 0.95
    assert loose["damage"]["target_precision"] == 0.5
    # Any threshold reaching 0.95 (or the best-precision fallback, when it is at least 0.5) also
    # reaches 0.5, so the lowest one reaching 0.5 is never higher.
    assert loose["damage"]["threshold"] <= strict["damage"]["threshold"]
    assert loose["damage"]["recall"] >= strict["damage"]["recall"]
    assert (loose["parcel"], loose["label"]) == (strict["parcel"], strict["label"])
    # Each precision comes with how far its detections let it be trusted, printed too.
    damage = strict["damage"]
    hits = round(damage["precision"] * damage["detections"])
    assert damage["precision_low"] == pytest.approx(
        precision_lower_bound(hits, damage["detections"]), abs=1e-4)
    assert damage["precision_low"] < damage["precision"]
    assert "low95" in printed.getvalue()


def test_the_report_says_when_thresholds_come_from_another_data_set() -> None:
    report = {"data": "test-set/data.yaml",
              "calibration": {"data": "field-600/data.yaml", "split": "val", "images": 600}}
    assert calibration_source(report) == "the val split of another data set (600 images)"
    report["calibration"]["data"] = report["data"]
    assert calibration_source(report) == "the val split (600 images)"


def run_manage(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    """manage.py in a child process on an empty SQLite file: a checkout never migrated."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_calibrating_a_file_needs_no_database_but_saving_does(
    data_yaml: Path, tmp_path: Path,
) -> None:
    database, out = tmp_path / "empty.sqlite3", tmp_path / "cal.json"
    common = ("calibrate_thresholds", "--model", str(WEIGHTS), "--data", str(data_yaml),
              "--split", "val")
    saving = run_manage(*common, "--facility", "demo", "--save", database=database)
    assert saving.returncode == 1
    assert "the database is not ready (run manage.py migrate first)" in saving.stderr
    assert "Traceback" not in saving.stderr

    preview = run_manage(*common, "--json", str(out), database=database)
    assert preview.returncode == 0, preview.stderr
    assert "run manage.py migrate" in preview.stderr
    assert set(json.loads(out.read_text())["classes"]) == set(CLASS_NAMES)
