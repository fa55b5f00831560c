"""Model registry and the per-process inference runtime, with a real (untrained) YOLO."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from django.core.management import call_command

from inspection.inference import loader, registry, runtime
from inspection.models import Facility, ModelVersion

pytestmark = pytest.mark.django_db


def test_dev_model_reports_its_classes(dev_model_file: Path) -> None:
    yolo = loader.load_yolo(dev_model_file)
    assert loader.class_names(yolo) == ["parcel", "label", "damage"]
    assert loader.input_size(yolo, dev_model_file) == 640


def test_register_reads_the_model_through_the_worker_loader(dev_model_file: Path) -> None:
    model = registry.register_model(dev_model_file, "dev", "1")
    assert model.format == ModelVersion.Format.PYTORCH
    assert model.class_names == ["parcel", "label", "damage"]
    assert model.input_size == 640
    assert model.checksum == registry.checksum(dev_model_file)
    assert len(model.checksum) == 64


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


def test_predict_is_one_call_for_a_list(dev_model: ModelVersion, settings: Any) -> None:
    settings.INFERENCE_DEVICE = "cpu"
    loaded = runtime.get_model(dev_model)
    calls = loaded.predict_calls
    arrays = [np.full((180, 320, 3), 127, np.uint8), np.full((320, 240, 3), 60, np.uint8)]
    predictions = loaded.predict(arrays, conf=0.001)
    assert loaded.predict_calls == calls + 1
    assert len(predictions) == 2
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
