"""`calibrate_thresholds` end to end with the committed weights on a small set the model lab
generated: real image decoding, the service's preprocessing, a real forward pass. The counts are
checked against the label files; the parcel target must be reached; a file is calibrated without
a database, and only saving needs one."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from inspection.calibration.offline import configure_offline
from inspection.calibration.thresholds import precision_lower_bound
from tests.generated_sets import WEIGHTS, small_labelled_set

pytestmark = [pytest.mark.training, pytest.mark.usefixtures("keep_torch_threads")]


@pytest.fixture(scope="module")
def data_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_labelled_set(tmp_path_factory.mktemp("calset"))


def val_truths(data_yaml: Path) -> tuple[int, dict[str, int]]:
    """Images of the val split and boxes per class, read from the label files themselves."""
    names = yaml.safe_load(data_yaml.read_text())["names"]  # the generator writes {id: name}
    files = sorted((data_yaml.parent / "labels" / "val").glob("*.txt"))
    boxes = [int(line.split()[0]) for file in files for line in file.read_text().splitlines()]
    return len(files), {name: boxes.count(c) for c, name in names.items()}


def calibrate_val(data_yaml: Path, *options: str) -> tuple[str, ...]:
    """calibrate_thresholds' arguments for the committed weights on the set's val split."""
    model = ("--model", str(WEIGHTS), "--data", str(data_yaml), "--split", "val")
    return ("calibrate_thresholds", *model, *options)


@pytest.mark.django_db
def test_calibrate_thresholds_previews_the_review_load(data_yaml: Path, tmp_path: Path) -> None:
    configure_offline()
    out = tmp_path / "cal.json"
    options = ("--min-confidence", "0.1", "--json", str(out))
    call_command(*calibrate_val(data_yaml, *options), stdout=io.StringIO())
    result = json.loads(out.read_text())

    images, truths = val_truths(data_yaml)
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
    data_yaml: Path,
    tmp_path: Path,
) -> None:
    configure_offline()
    rows, printed = {}, io.StringIO()
    for name, extra in (("strict", []), ("loose", ["--class-precision", "damage=0.5"])):
        out = tmp_path / f"{name}.json"
        call_command(*calibrate_val(data_yaml, "--json", str(out), *extra), stdout=printed)
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
        precision_lower_bound(hits, damage["detections"]), abs=1e-4
    )
    assert damage["precision_low"] < damage["precision"]
    assert "low95" in printed.getvalue()


def run_manage(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    """manage.py in a child process on an empty SQLite file: a checkout never migrated."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_calibrating_a_file_needs_no_database_but_saving_does(
    data_yaml: Path,
    tmp_path: Path,
) -> None:
    database, out = tmp_path / "empty.sqlite3", tmp_path / "cal.json"
    common = calibrate_val(data_yaml)
    saving = run_manage(*common, "--facility", "demo", "--save", database=database)
    assert saving.returncode == 1
    assert "the database is not ready (run manage.py migrate first)" in saving.stderr
    assert "Traceback" not in saving.stderr

    preview = run_manage(*common, "--json", str(out), database=database)
    assert preview.returncode == 0, preview.stderr
    assert "run manage.py migrate" in preview.stderr
    assert set(json.loads(out.read_text())["classes"]) == set(val_truths(data_yaml)[1])
