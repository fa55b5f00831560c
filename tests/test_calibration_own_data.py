"""Calibrating on an ML engineer's own YOLO data set (ultralytics layout, no generator manifest)
and for a model with its own classes: the classes come from data.yaml and must equal the
model's; bad labels and layouts are refused with the file, line and reason."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from inspection.calibration.dataset import class_names_of, load_split
from inspection.calibration.offline import configure_offline
from inspection.calibration.yolo_layout import DataSetError
from inspection.inference import registry
from inspection.models import Facility, ThresholdPolicy
from lab.training.data import generate_tolerant
from lab.training.recipe import training_config

pytestmark = [pytest.mark.training, pytest.mark.usefixtures("keep_torch_threads")]
OWN_CLASSES = ("box", "pallet")
WEIGHTS = Path(settings.BASE_DIR) / "models" / "default.pt"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated")
    generate_tolerant(root, 8, 43, (0.0, 1.0, 0.0), training_config(480))
    return root / "data.yaml"


def plain_copy(generated: Path, root: Path, names: object = None) -> Path:
    """The generated val split in ultralytics' layout alone: no manifest, relative paths."""
    for kind in ("images", "labels"):
        shutil.copytree(generated.parent / kind / "val", root / kind / "val")
    names = names if names is not None else ["parcel", "label", "damage"]
    (root / "data.yaml").write_text(yaml.safe_dump({"val": "images/val", "names": names}))
    return root / "data.yaml"


def write_set(
    root: Path, labels: dict[str, str], names: dict[int, str] | Sequence[str] = ("box", "pallet")
) -> Path:
    (root / "images" / "val").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    for number, (stem, text) in enumerate(labels.items()):
        pixels = np.random.default_rng(number).integers(0, 255, (100, 200, 3), np.uint8)
        Image.fromarray(pixels).save(root / "images" / "val" / f"{stem}.jpg")
        (root / "labels" / "val" / f"{stem}.txt").write_text(text)
    data = {
        "path": str(root),
        "val": "images/val",
        "names": names if isinstance(names, dict) else list(names),
    }
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    return root / "data.yaml"


def test_a_plain_yolo_set_reads_as_the_generator_manifest_does(
    generated: Path, tmp_path: Path
) -> None:
    with_manifest = load_split(generated, "val")
    plain = load_split(plain_copy(generated, tmp_path), "val")
    assert len(plain) == len(with_manifest) == 8
    by_image = {s.image: s for s in plain}
    for sample in with_manifest:
        twin = by_image[sample.image]
        assert (twin.width, twin.height) == (sample.width, sample.height)
        assert twin.truths == sample.truths
        assert sample.problems is not None  # the generator's manifest records them
        assert twin.problems is None  # no capture problems recorded outside the generator


def test_images_without_labels_polygons_lists_and_rotated_photos(tmp_path: Path) -> None:
    labels = {"boxed": "1 0.5 0.5 0.2 0.4\n", "outline": "0 0.1 0.2 0.3 0.2 0.2 0.6\n"}
    data_yaml = write_set(tmp_path, labels)
    Image.new("RGB", (200, 100)).save(tmp_path / "images" / "val" / "empty.png")
    turned = Image.new("RGB", (200, 100))
    exif = turned.getexif()
    exif[0x0112] = 6  # EXIF orientation: shown rotated 90 degrees, so 100 x 200 as labelled
    turned.save(tmp_path / "images" / "val" / "turned.jpg", exif=exif)
    (tmp_path / "labels" / "val" / "turned.txt").write_text("0 0.5 0.5 1 1\n")

    samples = {s.image: s for s in load_split(data_yaml, "val")}
    assert samples["images/val/empty.png"].truths == ()
    [boxed] = samples["images/val/boxed.jpg"].truths
    assert boxed.class_id == 1 and boxed.box == pytest.approx((80.0, 30.0, 120.0, 70.0))
    [outline] = samples["images/val/outline.jpg"].truths
    assert outline.box == pytest.approx((20.0, 20.0, 60.0, 60.0))  # the polygon's bounding box
    turned_sample = samples["images/val/turned.jpg"]
    assert (turned_sample.width, turned_sample.height) == (100, 200)
    assert turned_sample.truths[0].box == pytest.approx((0.0, 0.0, 100.0, 200.0))

    listing = tmp_path / "val.txt"
    listing.write_text("./images/val/boxed.jpg\n\n")
    listed = {**yaml.safe_load(data_yaml.read_text()), "val": "val.txt"}
    data_yaml.write_text(yaml.safe_dump(listed))
    assert [s.image for s in load_split(data_yaml, "val")] == ["images/val/boxed.jpg"]


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("2 0.5 0.5 0.1 0.1", "boxed.txt:1: class 2 is not one of the data set's 2 classes"),
        ("0 0.5 0.5 0.1", "boxed.txt:1: expected 'class cx cy w h' or a polygon, got 3 numbers"),
        ("0 0.5 half 0.1 0.1", "boxed.txt:1: not a label line"),
    ],
)
def test_bad_label_lines_are_refused_with_file_line_and_reason(
    tmp_path: Path, label: str, reason: str
) -> None:
    data_yaml = write_set(tmp_path, {"boxed": label})
    with pytest.raises(DataSetError, match=reason):
        load_split(data_yaml, "val")


def test_bad_data_yamls_say_why(tmp_path: Path) -> None:
    data_yaml = write_set(tmp_path, {"boxed": ""}, names={0: "box", 2: "pallet"})
    with pytest.raises(DataSetError, match="class ids in `names` must be 0..1"):
        class_names_of(data_yaml)
    data_yaml.write_text(yaml.safe_dump({"val": "images/val"}))
    with pytest.raises(DataSetError, match="no class `names`"):
        class_names_of(data_yaml)
    data_yaml.write_text(yaml.safe_dump({"val": "images/val", "names": ["box"]}))
    with pytest.raises(DataSetError, match="no `test` split"):
        load_split(data_yaml, "test")
    data_yaml.write_text(yaml.safe_dump({"val": "images/missing", "names": ["box"]}))
    with pytest.raises(DataSetError, match="no such image folder or image list"):
        load_split(data_yaml, "val")


@pytest.fixture(scope="module")
def own_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained detector with its own two classes (random weights: what matters here is
    that calibration is keyed by its classes, not ours)."""
    return registry.build_untrained_model(
        tmp_path_factory.mktemp("own") / "own.pt", class_names=OWN_CLASSES
    )


@pytest.mark.django_db
def test_a_model_with_its_own_classes_is_calibrated_and_saved_by_them(
    own_model: Path, facility: Facility, tmp_path: Path
) -> None:
    configure_offline()
    labels = {f"photo{i}": "0 0.5 0.5 0.4 0.6\n1 0.2 0.3 0.1 0.2\n" for i in range(3)}
    data_yaml = write_set(tmp_path, labels, names=OWN_CLASSES)
    version = registry.register_model(own_model, "own", "1", input_size=320)
    out = tmp_path / "cal.json"
    call_command(
        "calibrate_thresholds",
        "--model-version",
        str(version.pk),
        "--data",
        str(data_yaml),
        "--class-precision",
        "pallet=0.5",
        "--facility",
        facility.slug,
        "--save",
        "--json",
        str(out),
        stdout=io.StringIO(),
    )

    classes = json.loads(out.read_text())["classes"]
    assert list(classes) == list(OWN_CLASSES)
    assert [classes[c]["truths"] for c in OWN_CLASSES] == [3, 3]
    assert [classes[c]["target_precision"] for c in OWN_CLASSES] == [0.95, 0.5]
    policy = ThresholdPolicy.objects.get(facility=facility, model_version=version, is_active=True)
    assert set(policy.class_thresholds) == set(OWN_CLASSES)


@pytest.mark.django_db
def test_the_models_classes_must_be_the_data_sets(
    own_model: Path, generated: Path, tmp_path: Path
) -> None:
    configure_offline()
    data_yaml = plain_copy(generated, tmp_path)
    with pytest.raises(
        CommandError,
        match=r"the model's classes \(box, pallet\) differ from "
        r"those of .*data.yaml \(parcel, label, damage\)",
    ):
        call_command(
            "calibrate_thresholds",
            "--model",
            str(own_model),
            "--data",
            str(data_yaml),
            stdout=io.StringIO(),
        )


def test_class_targets_must_name_the_data_sets_classes(tmp_path: Path) -> None:
    data_yaml = write_set(tmp_path, {"boxed": ""}, names=OWN_CLASSES)
    with pytest.raises(CommandError, match=r"unknown class damage \(classes: box, pallet\)"):
        call_command(
            "calibrate_thresholds",
            "--model",
            "missing.pt",
            "--data",
            str(data_yaml),
            "--class-precision",
            "damage=0.8",
        )


def test_evaluate_model_reports_a_plain_set_under_all(generated: Path, tmp_path: Path) -> None:
    configure_offline()
    out = tmp_path / "eval.json"
    call_command(
        "evaluate_model",
        "--model",
        str(WEIGHTS),
        "--data",
        str(plain_copy(generated, tmp_path)),
        "--split",
        "val",
        "--imgsz",
        "320",
        "--json",
        str(out),
        stdout=io.StringIO(),
    )
    report = json.loads(out.read_text())
    truths = sum(len(s.truths) for s in load_split(generated, "val"))
    assert list(report["subsets"]) == ["all"]
    assert sum(report["subsets"]["all"][c]["truths"] for c in report["class_names"]) == truths
    assert list(report["lighting_normalization"]["off"]) == ["all"]
