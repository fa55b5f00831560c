"""Bring your own model: `.pt`, `.onnx` (float and int8) and an OpenVINO folder register out of
the box. Registration loads the model as the workers do, predicts once on a bundled photo and
prints classes, input size, format and that prediction's time; any failure is one line saying
why, never a traceback."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inspection.inference import loader, registry
from inspection.inference.probe import PROBE_IMAGE
from inspection.models import ModelVersion
from tests import model_exports
from tests.model_exports import Exports, coco_names, opt_out_of_openvino_telemetry
from tests.workers import ROOT, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# Session fixtures shared with the pipeline tests (made once per session).
default_exports = model_exports.default_exports
coco_onnx = model_exports.coco_onnx

FORMATS = {"pt": "pt", "onnx": "onnx", "onnx_int8": "onnx", "openvino": "openvino"}
PROBE_LINE = re.compile(r"probe: +(\d+) boxes on (\S+) in (\d+) ms \(load and warm-up (\d+) ms\)")


def register(path: Path, version: str, *extra: str) -> str:
    out = io.StringIO()
    call_command(
        "register_model",
        "--path",
        str(path),
        "--name",
        "byo",
        "--version",
        version,
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_the_default_model_and_its_exports_register_and_find_the_same_parcels(
    default_exports: Exports,
) -> None:
    probes = {}
    for field, fmt in FORMATS.items():
        registration = registry.register(getattr(default_exports, field), "byo", field)
        model, probe = registration.model, registration.probe
        assert registration.created
        assert (model.format, probe.format) == (fmt, fmt)
        assert model.class_names == probe.class_names == ["parcel", "label", "damage"]
        assert model.input_size == probe.input_size == 640
        assert probe.image == PROBE_IMAGE.name and probe.predict_ms > 0
        probes[field] = probe
    # The sample is a clean conveyor photo: the trained model sees parcels in every format.
    assert probes["pt"].boxes >= 1
    for field in ("onnx", "onnx_int8", "openvino"):
        assert abs(probes[field].boxes - probes["pt"].boxes) <= 2, (field, probes)
    assert probes["onnx"].runtime.startswith("onnxruntime cpu threads=")
    assert probes["openvino"].runtime.startswith("openvino cpu threads=")


def test_register_model_prints_classes_input_size_format_and_the_probe(
    default_exports: Exports,
) -> None:
    out = register(default_exports.onnx_int8, "int8")
    model = ModelVersion.objects.get(name="byo", version="int8")
    assert f"registered: byo:int8 (id {model.pk})" in out
    assert "format:     onnx (onnxruntime cpu" in out
    assert "classes:    3: parcel, label, damage" in out
    assert "input size: 640 px" in out
    probe = PROBE_LINE.search(out)
    assert probe is not None, out
    boxes, image, predict_ms, load_ms = probe.groups()
    assert image == PROBE_IMAGE.name and int(boxes) >= 1 and int(load_ms) >= int(predict_ms)

    again = register(default_exports.onnx_int8, "int8")
    assert "already registered (same weights): byo:int8" in again
    assert PROBE_LINE.search(again)  # probed again: it still says what the model finds
    assert ModelVersion.objects.filter(name="byo").count() == 1


def test_an_80_class_model_registers_with_its_class_list_abbreviated(coco_onnx: Path) -> None:
    out = register(coco_onnx, "coco")
    assert ModelVersion.objects.get(version="coco").class_names == coco_names()
    assert "classes:    80: person, bicycle, car, motorcycle, airplane, bus, train, truck, " in out
    assert "... (+72 more)" in out
    assert PROBE_LINE.search(out)  # random weights: any number of boxes, but it ran


# --- refusals: one line, never a traceback ------------------------------------------------------


def junk(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 20)
    return path


def classifier(path: Path) -> Path:
    loader.import_ultralytics().YOLO("yolov8n-cls.yaml").save(str(path))
    return path


def openvino_without_weights(default_exports: Exports, root: Path) -> Path:
    folder = root / "half_openvino_model"
    folder.mkdir()
    shutil.copy(next(default_exports.openvino.glob("*.xml")), folder)
    return folder


REFUSALS: dict[str, tuple[Any, str]] = {
    "missing": (lambda e, tmp: tmp / "nope.pt", "model not found: "),
    "unsupported": (lambda e, tmp: junk(tmp / "model.h5"), "unsupported model format .h5"),
    "plain folder": (lambda e, tmp: tmp, "a folder, but not an OpenVINO export"),
    "junk .pt": (lambda e, tmp: junk(tmp / "m.pt"), "m.pt: cannot load it as PyTorch weights"),
    "junk .onnx": (lambda e, tmp: junk(tmp / "m.onnx"), "m.onnx: cannot load it as an ONNX"),
    "no .bin": (openvino_without_weights, "default.xml has no default.bin beside it"),
    "classifier": (lambda e, tmp: classifier(tmp / "cls.pt"), "a classify model, not a detector"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_model_that_cannot_run_is_refused_in_one_line(
    case: str, default_exports: Exports, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    make, expected = REFUSALS[case]
    path = make(default_exports, tmp_path)
    with pytest.raises(CommandError) as refused:
        register(path, case.replace(" ", "-"))
    message = str(refused.value)
    assert expected in message and "\n" not in message, message
    assert not ModelVersion.objects.exists()
    assert "Traceback" not in "".join(capfd.readouterr())


def test_a_missing_runtime_is_named(
    default_exports: Exports, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(CommandError, match="onnxruntime is not installed .*; install onnxruntime"):
        register(default_exports.onnx, "no-runtime")


def test_a_static_export_refuses_another_input_size(default_exports: Exports) -> None:
    with pytest.raises(CommandError, match="fixed 640px input; --input-size 320 cannot apply"):
        register(default_exports.openvino, "320", "--input-size", "320")


def test_the_command_line_says_why_in_one_line_without_a_traceback(
    tmp_path: Path, media_root: Path
) -> None:
    weights = junk(tmp_path / "w.pt")
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "register_model",
            "--path",
            str(weights),
            "--name",
            "byo",
            "--version",
            "1",
        ],
        cwd=ROOT,
        env=worker_env(media_root, tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("CommandError: w.pt: cannot load it as PyTorch weights"), lines
    assert "Traceback" not in done.stdout


def test_the_telemetry_opt_out_is_the_one_openvino_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker

    monkeypatch.setenv("HOME", str(tmp_path))  # where the consent file lives
    assert OptInChecker().check(enable_opt_in_dialog=False) == ConsentCheckResult.NO_FILE
    assert opt_out_of_openvino_telemetry() == tmp_path / "intel" / "openvino_telemetry"
    assert (tmp_path / "intel" / "openvino_telemetry").read_text() == "0"
    assert OptInChecker().check(enable_opt_in_dialog=False) == ConsentCheckResult.DECLINED


def test_openvino_exports_ran_with_telemetry_off(default_exports: Exports) -> None:
    """ultralytics' OpenVINO export converts through OpenVINO's converter, which initialises
    OpenVINO's telemetry; after the opt-out it has no consent, so it sends nothing."""
    import openvino_telemetry

    telemetry = openvino_telemetry.Telemetry()  # the instance the converter configured
    assert telemetry.consent is False
    assert default_exports.openvino.is_dir()
