"""Bring-your-own-model support for tests: the default model exported by ultralytics' own exporter
(ONNX, ONNX int8, OpenVINO) once per session, an 80-class COCO model, the OpenVINO telemetry
opt-out the exports need to stay offline, and the comparison of two models' boxes.

ONNX int8 comes from ultralytics' exporter too: this ultralytics (8.4.190) quantizes ONNX with
`quantize=8`, statically, through ONNX Runtime's `quantize_static` on calibration images (the
bundled sample photos here, as a third party would use its own), keeping the head's decode in
float (ultralytics/utils/export/onnx.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from django.conf import settings

from inspection.inference import loader, registry

DEFAULT_WEIGHTS = Path(settings.DEFAULT_MODEL_PATH)
SAMPLES = Path(settings.BASE_DIR) / "samples" / "demo"


def opt_out_of_openvino_telemetry() -> Path:
    """OpenVINO's converter (which ultralytics' OpenVINO export runs) sends usage telemetry
    unless the user opted out; its documented opt-out, `opt_in_out --opt_out`, writes "0" to
    the consent file (~/intel/openvino_telemetry), and also sends an "opted out" event, so the
    file is written here through the library's own consent checker instead."""
    from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker

    checker = OptInChecker()
    assert checker.update_result(ConsentCheckResult.DECLINED), "consent file not writable"
    return Path(checker.consent_file())


def export(weights: Path, fmt: str, **options: object) -> Path:
    """Export a copy of `weights` (the exporter writes beside its input) with ultralytics."""
    import torch

    threads = torch.get_num_threads()  # the exporter's select_device() changes it
    try:
        return Path(loader.load_yolo(weights).export(format=fmt, verbose=False, **options))
    finally:
        torch.set_num_threads(threads)


def calibration_data(root: Path, names: Sequence[str]) -> Path:
    """A YOLO data set of the bundled sample photos (no labels: calibration needs none)."""
    images = root / "images" / "val"
    images.mkdir(parents=True)
    for sample in sorted(SAMPLES.glob("*.jpg")):
        shutil.copy(sample, images / sample.name)
    data = root / "data.yaml"
    data.write_text(
        yaml.safe_dump(
            {
                "path": str(root),
                "train": "images/val",
                "val": "images/val",
                "names": dict(enumerate(names)),
            }
        )
    )
    return data


@dataclass(frozen=True)
class Exports:
    pt: Path
    onnx: Path
    onnx_int8: Path
    openvino: Path


def export_default_model(root: Path) -> Exports:
    opt_out_of_openvino_telemetry()
    pt = root / "default.pt"
    shutil.copy(DEFAULT_WEIGHTS, pt)
    names = loader.class_names(loader.load_yolo(pt))
    # The int8 export replaces its float ONNX, so each export starts from its own copy.
    int8_source = root / "int8" / "default.pt"
    int8_source.parent.mkdir()
    shutil.copy(DEFAULT_WEIGHTS, int8_source)
    data = calibration_data(root / "calibration", names)
    return Exports(
        pt=pt,
        onnx=export(pt, "onnx"),
        onnx_int8=export(int8_source, "onnx", quantize=8, data=str(data)),
        openvino=export(pt, "openvino"),
    )


# Made once per session: each test module that uses the fixtures gets its own fixture
# definition (they are not in conftest.py), so the results are kept here.
_MADE: dict[str, object] = {}


@pytest.fixture(scope="session")
def default_exports(tmp_path_factory: pytest.TempPathFactory) -> Exports:
    """The default model and its three exports (about 20 s on two cores)."""
    if "exports" not in _MADE:
        _MADE["exports"] = export_default_model(tmp_path_factory.mktemp("exports"))
    return _MADE["exports"]  # type: ignore[return-value]


def coco_names() -> list[str]:
    """The 80 COCO class names, from the data set file ultralytics ships."""
    import ultralytics

    path = Path(ultralytics.__file__).parent / "cfg" / "datasets" / "coco.yaml"
    names = yaml.safe_load(path.read_text())["names"]
    return [names[key] for key in sorted(names)]


@pytest.fixture(scope="session")
def coco_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 80-class yolov8n (random weights: any weights will do) exported to ONNX."""
    if "coco" not in _MADE:
        root = tmp_path_factory.mktemp("coco")
        pt = registry.build_untrained_model(root / "coco80.pt", class_names=coco_names())
        _MADE["coco"] = export(pt, "onnx")
    return _MADE["coco"]  # type: ignore[return-value]


# --- comparing boxes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Boxes:
    """One image's detections: N x 4 xyxy boxes, their confidences and class names."""

    xyxy: np.ndarray
    confidences: np.ndarray
    classes: list[str]

    def at_least(self, confidence: float) -> int:
        return int((self.confidences >= confidence).sum())


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    top_left = np.maximum(box[:2], others[:, :2])
    bottom_right = np.minimum(box[2:], others[:, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=1)
    area = (box[2:] - box[:2]).prod()
    areas = (others[:, 2:] - others[:, :2]).prod(axis=1)
    return inter / (area + areas - inter + 1e-9)


def same_class_overlaps(
    reference: Boxes, candidate: Boxes, above: float
) -> Iterator[tuple[str, float, np.ndarray, np.ndarray]]:
    """Each reference box at or above `above`: its class, its confidence, its IoU with every
    candidate box of that class and those boxes' confidences."""
    for box, confidence, name in zip(
        reference.xyxy, reference.confidences, reference.classes, strict=True
    ):
        if confidence < above:
            continue
        same = np.array([other == name for other in candidate.classes], dtype=bool)
        overlaps = iou(box, candidate.xyxy[same]) if same.any() else np.zeros(0)
        yield name, float(confidence), overlaps, candidate.confidences[same]


def best_matches(reference: Boxes, candidate: Boxes, above: float) -> list[tuple[float, float]]:
    """Per reference box at or above `above`: the IoU of the best-overlapping candidate box of
    its class and their confidence difference ((0, 1) when there is none)."""
    matches = []
    for _, confidence, overlaps, confidences in same_class_overlaps(reference, candidate, above):
        if not overlaps.size:
            matches.append((0.0, 1.0))
            continue
        best = int(overlaps.argmax())
        matches.append((float(overlaps[best]), abs(float(confidences[best]) - confidence)))
    return matches


def unmatched(
    reference: Boxes, candidate: Boxes, above: float, min_iou: float, max_conf_diff: float
) -> list[str]:
    """Reference boxes at or above `above` with no candidate box of their class overlapping by
    `min_iou` at a confidence within `max_conf_diff`, described for the failure message."""
    misses = []
    for name, confidence, overlaps, confidences in same_class_overlaps(reference, candidate, above):
        close = np.abs(confidences - confidence) <= max_conf_diff
        if not ((overlaps >= min_iou) & close).any():
            best = f"{overlaps.max():.2f}" if overlaps.size else "none"
            misses.append(f"{name} {confidence:.2f} (best IoU {best})")
    return misses
