"""On a CPU, `.pt` weights run through an OpenVINO export of them, made on the first load from the
real default model (models/default.pt), cached under INFERENCE_EXPORT_DIR by the weights' sha256
and reused by later loads, made again when it is missing or corrupt; when it cannot be made or
run, the weights run in torch after one warning line. Its boxes match torch's on the bundled
samples; the load log line, the backend metric and registration name the backend."""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import override_settings
from prometheus_client import REGISTRY

from inspection.inference import export_cache, registry, runtime
from inspection.inference.loaded import LoadedModel, open_model, weights_path
from inspection.preprocessing import ImageRejected, PreprocessConfig, preprocess
from tests.model_exports import SAMPLES, Boxes, best_matches, unmatched

pytestmark = pytest.mark.slow

WEIGHTS = Path(django_settings.DEFAULT_MODEL_PATH)
# OpenVINO against torch on the 23 samples that pass preprocessing, one image per predict, both
# letterboxed alike (the export is dynamic): every torch box at confidence >= 0.3 has an
# OpenVINO box of its class at IoU >= 0.9 with a confidence within 0.05, and the other way
# round; per photo the boxes at >= 0.25 number the same, give or take 1. Measured on 2 cores of
# an AMD EPYC (AVX512_BF16, so OpenVINO's `auto` precision computes in bf16): worst IoU 0.979,
# largest confidence difference 0.017, the same 105 boxes at >= 0.25 (in f32: identical to
# 1e-4). The margin is for other CPUs' kernels (AMX, or f32 where there is no bf16).
MIN_IOU, MAX_CONFIDENCE_DIFFERENCE = 0.9, 0.05
COMPARED, FOUND_FROM, COUNTED, MAX_COUNT_DIFFERENCE = 0.3, 0.1, 0.25, 1


@pytest.fixture
def export_dir(settings: Any, tmp_path: Path) -> Path:
    """A CPU host on the default backend, with an export cache of its own."""
    settings.INFERENCE_BACKEND = "auto"
    settings.INFERENCE_DEVICE = "cpu"
    settings.INFERENCE_THREADS = 2
    settings.INFERENCE_EXPORT_DIR = tmp_path / "exports"
    return Path(settings.INFERENCE_EXPORT_DIR)


@pytest.fixture
def exports_made(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The weights of each export made (each run of ultralytics' exporter), in order."""
    made: list[Path] = []
    export = export_cache.export_weights

    def counted(weights: Path, model_format: str, input_size: int) -> Path:
        made.append(weights)
        return export(weights, model_format, input_size)

    monkeypatch.setattr(export_cache, "export_weights", counted)
    return made


def entry_of(export_dir: Path) -> Path:
    """The one cache entry of the default weights (beside it: its lock file)."""
    digest = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()
    (entry,) = [path for path in (export_dir / digest).iterdir() if path.is_dir()]
    return entry


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every warning and error any logger wrote (ours, ultralytics', OpenVINO's)."""
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def test_the_first_load_exports_the_weights_under_their_sha256(
    export_dir: Path, exports_made: list[Path]
) -> None:
    loaded = open_model(WEIGHTS)
    assert (loaded.backend, loaded.device) == ("openvino", "cpu")
    assert loaded.runtime.startswith("openvino cpu threads=2 hint=LATENCY streams=1 pinning=off")
    assert loaded.class_names == ["parcel", "label", "damage"] and loaded.input_size == 640
    entry = entry_of(export_dir)
    # Keyed by the registry's own checksum of the weights; the entry names what shaped it.
    assert entry.parent.name == registry.checksum(WEIGHTS)
    assert entry.name.startswith("openvino-640-dynamic-ultralytics")
    assert weights_path(loaded.yolo).is_relative_to(entry)
    assert len(exports_made) == 1
    assert loaded.predict([np.full((480, 640, 3), 90, np.uint8)], conf=0.25)[0].boxes.shape[1] == 4


def test_a_second_load_reuses_the_cached_export(export_dir: Path, exports_made: list[Path]) -> None:
    first = open_model(WEIGHTS)
    manifest = entry_of(export_dir) / export_cache.MANIFEST
    written = manifest.stat().st_mtime_ns
    second = open_model(WEIGHTS)
    assert len(exports_made) == 1
    assert weights_path(second.yolo) == weights_path(first.yolo)
    assert manifest.stat().st_mtime_ns == written
    assert second.backend == "openvino"


def test_a_deleted_export_is_made_again(export_dir: Path, exports_made: list[Path]) -> None:
    open_model(WEIGHTS)
    shutil.rmtree(entry_of(export_dir))
    again = open_model(WEIGHTS)
    assert len(exports_made) == 2
    assert again.backend == "openvino"
    assert weights_path(again.yolo).is_relative_to(entry_of(export_dir))


def _cut_short(entry: Path) -> None:
    (weights_bin,) = entry.rglob("*.bin")
    weights_bin.write_bytes(weights_bin.read_bytes()[:1000])


def _manifest_garbled(entry: Path) -> None:
    (entry / export_cache.MANIFEST).write_text('{"files": ')


CORRUPTIONS = {"weights cut short": _cut_short, "manifest garbled": _manifest_garbled}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_corrupt_export_is_made_again_after_one_warning(
    corruption: str,
    export_dir: Path,
    exports_made: list[Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    open_model(WEIGHTS)
    CORRUPTIONS[corruption](entry_of(export_dir))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = open_model(WEIGHTS)
    (warning,) = warnings_logged(caplog)
    assert "is incomplete or corrupt" in warning and "making it again" in warning
    assert "\n" not in warning
    assert len(exports_made) == 2 and again.backend == "openvino"
    assert export_cache.verified(entry_of(export_dir)) == weights_path(again.yolo)


def _export_dir_is_a_file(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    settings.INFERENCE_EXPORT_DIR = tmp_path / "not-a-folder"
    settings.INFERENCE_EXPORT_DIR.write_text("")
    return "NotADirectoryError"


def _openvino_not_installed(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    return "ModuleNotFoundError"


UNBUILDABLE = {"export folder is a file": _export_dir_is_a_file}
UNBUILDABLE["openvino is not installed"] = _openvino_not_installed


@pytest.mark.parametrize("case", UNBUILDABLE)
def test_weights_whose_export_cannot_be_made_run_in_torch_after_one_warning_line(
    case: str,
    export_dir: Path,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = UNBUILDABLE[case](settings, tmp_path, monkeypatch)
    with caplog.at_level(logging.WARNING):
        loaded = open_model(WEIGHTS)
    (warning,) = warnings_logged(caplog)
    assert warning.startswith("default.pt: its openvino export cannot be made or run here (")
    assert error in warning and warning.endswith("running it in torch instead")
    assert "\n" not in warning
    assert (loaded.backend, loaded.device, loaded.runtime) == (
        "torch",
        "cpu",
        "torch cpu threads=2",
    )
    assert loaded.predict([np.full((480, 640, 3), 90, np.uint8)], conf=0.25)[0].boxes.shape[1] == 4


# --- the same boxes as torch ------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_and_openvino() -> Iterator[tuple[LoadedModel, LoadedModel]]:
    """The default model in torch and through its export (the project's export cache, made
    there when this is the first test to need it, as on a clean clone)."""
    with override_settings(INFERENCE_DEVICE="cpu", INFERENCE_BACKEND="torch"):
        in_torch = open_model(WEIGHTS)
    with override_settings(INFERENCE_DEVICE="cpu", INFERENCE_BACKEND="auto"):
        through_openvino = open_model(WEIGHTS)
    yield in_torch, through_openvino


def sample_boxes(model: LoadedModel) -> dict[str, Boxes]:
    found = {}
    for path in sorted(SAMPLES.glob("*.jpg")):
        try:
            array = preprocess(path.read_bytes(), 640, PreprocessConfig.from_settings()).array
        except ImageRejected:
            continue  # broken files and the nearly black one never reach the model
        (prediction,) = model.predict([array], conf=FOUND_FROM)
        names = [model.class_names[index] for index in prediction.class_ids]
        found[path.name] = Boxes(prediction.boxes, prediction.confidences, names)
    return found


def test_openvino_finds_the_boxes_torch_finds_on_the_samples(
    torch_and_openvino: tuple[LoadedModel, LoadedModel], capsys: pytest.CaptureFixture[str]
) -> None:
    in_torch, through_openvino = torch_and_openvino
    assert (in_torch.backend, through_openvino.backend) == ("torch", "openvino")
    reference, candidate = sample_boxes(in_torch), sample_boxes(through_openvino)
    assert len(reference) >= 20
    tolerance = (COMPARED, MIN_IOU, MAX_CONFIDENCE_DIFFERENCE)
    for photo in reference:
        missing = unmatched(reference[photo], candidate[photo], *tolerance)
        extra = unmatched(candidate[photo], reference[photo], *tolerance)
        assert not missing and not extra, (photo, missing, extra)
        counts = reference[photo].at_least(COUNTED), candidate[photo].at_least(COUNTED)
        assert abs(counts[0] - counts[1]) <= MAX_COUNT_DIFFERENCE, (photo, counts)
    matches = [m for p in reference for m in best_matches(reference[p], candidate[p], COMPARED)]
    assert len(matches) >= 90  # the trained model sees parcels on most samples
    with capsys.disabled():
        print(
            f"\n[openvino vs torch] {len(matches)} boxes >= {COMPARED}: worst IoU "
            f"{min(m[0] for m in matches):.3f}, largest confidence difference "
            f"{max(m[1] for m in matches):.3f} ({through_openvino.runtime})"
        )


# --- where the backend shows --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_load_log_line_and_the_metric_name_the_backend(
    export_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    version = registry.register_model(WEIGHTS, "default", "openvino-metric")
    with caplog.at_level(logging.INFO, logger="inspection.inference.runtime"):
        loaded = runtime.load(version)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model loaded")]
    assert f"model loaded: {version} backend=openvino device=cpu threads=2 " in line
    assert f"runtime='{loaded.runtime}'" in line
    labels = {"model": str(version), "backend": "openvino", "device": "cpu"}
    assert REGISTRY.get_sample_value("inspection_inference_backend_info", labels) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pinned", "expected"),
    [
        ("auto", "openvino on cpu (an export of the weights, cached on this host)"),
        ("torch", "torch on cpu"),
    ],
)
def test_registration_prints_the_backend(
    pinned: str, expected: str, export_dir: Path, settings: Any
) -> None:
    settings.INFERENCE_BACKEND = pinned
    out = io.StringIO()
    call_command(
        "register_model", "--path", str(WEIGHTS), "--name", "default", "--version", pinned,
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert f"  backend:    {expected}\n" in text
    assert "  format:     pt (" in text and "  classes:    3: parcel, label, damage" in text
    assert "  input size: 640 px" in text and "  probe:      " in text
