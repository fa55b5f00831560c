"""`manage.py retrain_from_verdicts`: a facility's verdicts on the bundled sample photos
fine-tune its active model for one epoch at a small size, and the result is registered as a
calibrated candidate that is not activated; the refusals say why, before any training."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from PIL import Image as PillowImage
from PIL import ImageOps

from inspection.inference.registry import checksum
from inspection.models import Facility, Image, ModelChange, ModelVersion
from inspection.review import leases
from inspection.review.boxes import Box
from inspection.review.decisions import DecisionRequest, decide
from lab.training import retrain
from tests.review_support import make_task

pytestmark = pytest.mark.usefixtures("media_root")

SAMPLES = sorted((Path(django_settings.BASE_DIR) / "samples" / "demo").glob("[0-2]*.jpg"))
TODAY = timezone.localdate().isoformat()


def oriented_size(data: bytes) -> tuple[int, int]:
    picture = ImageOps.exif_transpose(PillowImage.open(io.BytesIO(data)))
    assert picture is not None
    return picture.size


def reviewer_boxes(width: int, height: int) -> list[Box]:
    """A parcel in the middle of the frame and a label on it."""
    w, h = width, height
    return [
        Box(0, "parcel", w * 0.25, h * 0.25, w * 0.75, h * 0.75),
        Box(1, "label", w * 0.4, h * 0.4, w * 0.55, h * 0.5),
    ]


def review_samples(facility: Facility, reviewer: Any, count: int) -> list[Image]:
    """`count` bundled photos routed to review, each accepted with the reviewer's boxes."""
    decided = []
    for sample in SAMPLES[:count]:
        data = sample.read_bytes()
        size = oriented_size(data)
        task = make_task(facility, data=data, size=size, name=sample.name)
        leases.claim_task(task, reviewer)
        decide(task, reviewer, DecisionRequest("accepted", reviewer_boxes(*size)))
        decided.append(Image.objects.get(pk=task.image_id))
    return decided


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("retrain_from_verdicts", *args, stdout=out)
    return out.getvalue()


@pytest.mark.training
@pytest.mark.usefixtures("keep_torch_threads")
def test_verdicts_fine_tune_the_active_model_into_a_calibrated_inactive_candidate(
    facility: Facility,
    reviewer: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    settings.INFERENCE_EXPORT_DIR = tmp_path / "exports"  # registration's probe caches one here
    base = facility.active_model
    assert base is not None
    review_samples(facility, reviewer, 8)
    work = tmp_path / "retrain"
    line = run(
        "--facility", "dc-north", "--since", TODAY, "--epochs", "1", "--imgsz", "64",
        "--batch", "4", "--min-images", "6", "--work-dir", str(work), "--shadow",
    )  # fmt: skip
    candidate = ModelVersion.objects.get(name=f"{base.name}-retrained")
    facility.refresh_from_db()
    assert facility.active_model_id == base.pk  # registered, not activated
    assert facility.shadow_model_id == candidate.pk  # --shadow: it runs beside the active one
    [change] = ModelChange.objects.filter(facility=facility)
    assert (change.action, change.model_version_id) == ("shadow_set", candidate.pk)
    assert change.created_by == "command retrain_from_verdicts"
    assert candidate.class_names == base.class_names
    assert candidate.input_size == 64
    assert candidate.threshold_source == "calibrated"
    assert set(candidate.class_thresholds) == set(base.class_names)
    weights = Path(candidate.file_path)
    assert weights == (work / "model.pt").resolve()
    assert candidate.checksum == checksum(weights) != base.checksum
    assert candidate.version == candidate.checksum[:12]
    record = json.loads((work / "model.retrain.json").read_text())
    floor = record["calibration"]["min_confidence"]  # none under the noise floor: a policy
    assert min(candidate.class_thresholds.values()) >= floor > 0  # would refuse it on promote
    assert record["model"]["id"] == candidate.pk and record["base_model"]["id"] == base.pk
    assert sum(record["images"].values()) == 8 and min(record["images"].values()) >= 1
    assert record["images_per_class"] == {"parcel": 8, "label": 8}
    assert record["settings"]["epochs"] == 1 and record["settings"]["warmup_bias_lr"] == 0.0
    assert line.count("\n") == 1
    missed = [n for n, row in record["calibration"]["classes"].items() if not row["target_reached"]]
    assert "damage" in missed  # no damage in the val split: nothing to calibrate it on
    assert line.rstrip().endswith(f"target precision not reached on val for {', '.join(missed)}")
    assert f"candidate {candidate} (id {candidate.pk})" in line
    assert "images per class: parcel 8, label 8, damage 0" in line
    assert "1 epoch(s)" in line and "set as shadow" in line
    assert record["shadow"] is True


def test_an_unknown_facility_is_refused(db: None) -> None:
    with pytest.raises(CommandError, match="No facility 'nowhere'"):
        run("--facility", "nowhere", "--since", TODAY)


def test_a_facility_without_verdicts_is_refused(facility: Facility, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No reviewed or audited images of facility 'dc-north'"):
        run("--facility", "dc-north", "--since", TODAY, "--work-dir", str(tmp_path))
    assert not ModelVersion.objects.filter(name__endswith="-retrained").exists()


def test_too_few_verdict_images_are_refused(
    facility: Facility, reviewer: Any, tmp_path: Path
) -> None:
    review_samples(facility, reviewer, 2)
    with pytest.raises(CommandError, match=r"Only 2 usable .* at least 20 are needed"):
        run("--facility", "dc-north", "--since", TODAY, "--work-dir", str(tmp_path / "w"))
    assert not (tmp_path / "w").exists()


def test_verdicts_before_the_date_do_not_count(facility: Facility, reviewer: Any) -> None:
    review_samples(facility, reviewer, 2)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    with pytest.raises(CommandError, match=f"since {tomorrow}: nothing to retrain on"):
        run("--facility", "dc-north", "--since", tomorrow)


def test_a_facility_without_a_model_is_refused(bare_facility: Facility) -> None:
    with pytest.raises(CommandError, match="'dc-bare' has no active model to fine-tune"):
        run("--facility", "dc-bare", "--since", TODAY)


def test_a_missing_lab_install_is_refused_with_what_to_install(
    facility: Facility, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retrain, "LAB_PACKAGES", ("matplotlib", "no_such_lab_package"))
    with pytest.raises(CommandError, match=r"model lab is not installed \(missing no_such_lab_"):
        run("--facility", "dc-north", "--since", TODAY)


def test_a_bad_date_is_refused_by_the_parser(facility: Facility) -> None:
    with pytest.raises(CommandError, match="'2026-13-01' is not a date"):
        run("--facility", "dc-north", "--since", "2026-13-01")


def test_an_exported_active_model_is_refused(facility: Facility) -> None:
    export = ModelVersion.objects.create(
        name="default-onnx", version="1", file_path="/models/default.onnx", format="onnx"
    )
    Facility.objects.filter(pk=facility.pk).update(active_model=export)
    with pytest.raises(CommandError, match="is an onnx export: fine-tuning needs its .pt weights"):
        run("--facility", "dc-north", "--since", TODAY)


def test_a_precision_target_for_a_class_the_model_lacks_is_refused(facility: Facility) -> None:
    with pytest.raises(CommandError, match="unknown class pallet"):
        run("--facility", "dc-north", "--since", TODAY, "--class-precision", "pallet=0.8")
