"""Model registry and the per-process inference runtime, with a real (untrained) YOLO."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from django.core.management import call_command
from django.db import OperationalError

from inspection.inference import devices, loader, registry, runtime
from inspection.inference.loaded import open_model
from inspection.inference.watcher import ModelWatcher
from inspection.models import Facility, ModelVersion
from tests import model_exports
from tests.model_exports import Exports
from tests.workers import wait_until

pytestmark = pytest.mark.django_db


def test_dev_model_reports_its_classes(dev_model_file: Path) -> None:
    yolo = loader.load_yolo(dev_model_file)
    assert loader.class_names(yolo) == ["parcel", "label", "damage"]
    assert loader.input_size(yolo, dev_model_file) == 640


@pytest.mark.slow
def test_register_reads_the_model_through_the_worker_loader(dev_model_file: Path) -> None:
    model = registry.register_model(dev_model_file, "dev", "1")
    assert model.format == ModelVersion.Format.PYTORCH
    assert model.class_names == ["parcel", "label", "damage"]
    assert model.input_size == 640
    assert model.checksum == registry.checksum(dev_model_file)
    assert len(model.checksum) == 64


@pytest.mark.slow  # over a second on 2 cores (pytest.ini)
def test_register_is_idempotent_for_the_same_weights(dev_model_file: Path, tmp_path: Path) -> None:
    first = registry.register_model(dev_model_file, "dev", "1")
    assert registry.register_model(dev_model_file, "dev", "1") == first
    other = registry.build_untrained_model(tmp_path / "other.pt", seed=1)
    with pytest.raises(registry.ModelConflict):
        registry.register_model(other, "dev", "1")


def test_formats_are_detected(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"")
    export = tmp_path / "m_openvino_model"
    export.mkdir()
    (export / "m.xml").write_text("<net/>")
    assert loader.detect_format(tmp_path / "m.onnx") == "onnx"
    assert loader.detect_format(export) == "openvino"
    with pytest.raises(ValueError):
        loader.detect_format(tmp_path / "m.h5")


def test_activate_model(facility: Facility, dev_model_file: Path) -> None:
    model = registry.register_model(dev_model_file, "dev", "1")
    registry.activate_model(facility, model)
    assert Facility.objects.get(pk=facility.pk).active_model == model


@pytest.mark.slow  # over a second on 2 cores (pytest.ini)
def test_management_commands(facility: Facility, tmp_path: Path) -> None:
    out = tmp_path / "cmd.pt"
    call_command("build_dev_model", "--out", str(out))
    call_command(
        "register_model",
        "--path",
        str(out),
        "--name",
        "cmd",
        "--version",
        "1",
        "--activate-for",
        facility.slug,
    )
    facility.refresh_from_db()
    assert facility.active_model is not None
    assert facility.active_model.class_names == ["parcel", "label", "damage"]


def test_model_loads_once_per_process_and_sets_threads(
    dev_model: ModelVersion, settings: Any
) -> None:
    settings.INFERENCE_DEVICE = "cpu"
    settings.INFERENCE_THREADS = 2
    runtime.clear_cache()
    before = runtime.LOAD_COUNT
    assert runtime.preload_active_models() == 1
    first = runtime.get_model(dev_model)
    assert runtime.get_model(dev_model) is first
    assert runtime.LOAD_COUNT == before + 1
    assert first.device == "cpu"
    assert torch.get_num_threads() == 2  # ultralytics had set it to 1 on this machine


def test_predict_is_one_call_per_shape_in_a_list(dev_model: ModelVersion, settings: Any) -> None:
    settings.INFERENCE_DEVICE = "cpu"
    loaded = runtime.get_model(dev_model)
    calls = loaded.predict_calls
    landscape, portrait = (180, 320, 3), (320, 240, 3)
    arrays = [np.full(landscape, 127, np.uint8), np.full(portrait, 60, np.uint8)]
    arrays.append(np.full(landscape, 90, np.uint8))
    predictions = loaded.predict(arrays, conf=0.001)
    assert loaded.predict_calls == calls + 2  # the two landscapes together, the portrait alone
    assert len(predictions) == 3
    for prediction, array in zip(predictions, arrays, strict=True):
        height, width = array.shape[:2]
        assert prediction.boxes.shape[1] == 4
        assert (prediction.boxes[:, [0, 2]] <= width + 1e-3).all()
        assert (prediction.boxes[:, [1, 3]] <= height + 1e-3).all()


def test_device_resolution(settings: Any) -> None:
    assert runtime.resolve_device("cpu") == "cpu"
    assert runtime.resolve_device("cuda") == "cuda:0"
    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert runtime.resolve_device("auto") == expected


def test_worker_role_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runtime.ROLE_ENV, "inference")
    assert runtime.is_inference_worker()
    monkeypatch.setenv(runtime.ROLE_ENV, "cpu")
    assert not runtime.is_inference_worker()


def test_cpu_workers_load_nothing(monkeypatch: pytest.MonkeyPatch, dev_model: ModelVersion) -> None:
    monkeypatch.delenv(runtime.ROLE_ENV, raising=False)
    before = runtime.LOAD_COUNT
    runtime.clear_cache()
    runtime.on_worker_process_init()
    assert runtime.LOAD_COUNT == before


# --- export runtimes, devices and the model watcher -------------------------------------------

default_exports = model_exports.default_exports


@pytest.mark.slow
def test_export_runtimes_take_the_worker_thread_budget_unpinned(
    default_exports: Exports, settings: Any
) -> None:
    """ultralytics starts ONNX Runtime with busy-waiting threads on every core and OpenVINO with
    threads pinned to cores; the worker rebuilds both with its own budget."""
    settings.INFERENCE_DEVICE = "cpu"
    settings.INFERENCE_THREADS = 1
    onnx = open_model(default_exports.onnx)
    session = loader.runtime_backend(onnx.yolo).session
    assert session.get_session_options().intra_op_num_threads == 1
    assert (
        session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
        == "0"
    )
    openvino = open_model(default_exports.openvino)
    compiled = loader.runtime_backend(openvino.yolo).ov_compiled_model
    assert compiled.get_property("INFERENCE_NUM_THREADS") == 1
    assert compiled.get_property("ENABLE_CPU_PINNING") is False
    blank = np.full((360, 640, 3), 90, np.uint8)
    for loaded in (onnx, openvino):  # the rebuilt runtimes still predict
        assert loaded.predict([blank, blank], conf=0.5)[1].boxes.shape[1] == 4


def test_exports_run_where_their_runtime_can(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "_onnxruntime_has_cuda", lambda: False)
    assert devices.device_for("pt", "cuda") == "cuda:0"
    assert devices.device_for("onnx", "cuda") == "cpu"  # a CPU-only onnxruntime
    assert devices.device_for("openvino", "cuda") == "cpu"
    monkeypatch.setattr(devices, "_onnxruntime_has_cuda", lambda: True)
    assert devices.device_for("onnx", "cuda") == "cuda:0"
    assert devices.device_for("onnx", "cpu") == "cpu"


@pytest.mark.slow
def test_preloading_picks_up_a_version_activated_later(
    dev_model: ModelVersion, other_facility: Facility, tmp_path: Path, settings: Any
) -> None:
    settings.INFERENCE_DEVICE = "cpu"
    runtime.clear_cache()
    runtime.preload_active_models()
    assert runtime.is_loaded(dev_model.pk)
    later = registry.register_model(
        registry.build_untrained_model(tmp_path / "later.pt", seed=2), "later", "1", input_size=320
    )
    assert not runtime.is_loaded(later.pk)
    registry.activate_model(other_facility, later)
    before = runtime.LOAD_COUNT
    assert runtime.preload_active_models() == 1
    assert runtime.is_loaded(later.pk) and runtime.LOAD_COUNT == before + 1
    assert runtime.preload_active_models() == 0  # nothing new: one query, no load


def test_an_active_version_that_cannot_load_is_not_retried_every_tick(
    facility: Facility, dev_model_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "gone.pt"
    copy.write_bytes(dev_model_file.read_bytes())
    model = registry.register_model(copy, "gone", "1", input_size=320)
    registry.activate_model(facility, model)
    copy.unlink()  # e.g. not copied to this host
    runtime.clear_cache()
    assert runtime.preload_active_models() == 0
    assert runtime.preload_active_models() == 0
    assert caplog.text.count("could not preload model gone:1") == 1


def test_the_watcher_reports_a_database_outage_once_and_keeps_watching(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        if 2 <= len(calls) <= 4:
            raise OperationalError("connection refused")

    watcher = ModelWatcher(check, interval=0.01)
    with caplog.at_level(logging.INFO, logger="inspection.inference.watcher"):
        watcher.start()
        assert wait_until(lambda: watcher.ticks >= 8, timeout=10)
        watcher.stop()
    assert not watcher.is_alive()
    assert caplog.text.count("database unavailable") == 1
    assert caplog.text.count("database back") == 1
