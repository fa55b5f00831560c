"""Registration's proof that a model runs: load it as a worker does (runtime, threads, warm-up),
predict once on a bundled sample photo after the pipeline's own preprocessing, and report what
it is and what it found. Anything that goes wrong is one line saying why."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from django.conf import settings

from inspection.inference import loader
from inspection.inference.loaded import LoadedModel, open_model
from inspection.models import ModelVersion
from inspection.preprocessing import PreprocessConfig, preprocess

PROBE_IMAGE = Path(settings.BASE_DIR) / "samples" / "demo" / "01-clean-conveyor.jpg"
# ultralytics' own default: "the boxes it found" means what `yolo predict` would show.
PROBE_CONFIDENCE = 0.25
# What each format needs installed (named in the error when its import fails).
# Keyed by format (plain strings when read back from a row).
RUNTIME_PACKAGES: dict[str, str] = {
    ModelVersion.Format.PYTORCH: "torch",
    ModelVersion.Format.ONNX: "onnxruntime",
    ModelVersion.Format.OPENVINO: "openvino",
}
FORMAT_NAMES: dict[str, str] = {
    ModelVersion.Format.PYTORCH: "PyTorch weights",
    ModelVersion.Format.ONNX: "an ONNX model",
    ModelVersion.Format.OPENVINO: "an OpenVINO model",
}
REASON_MAX_CHARS = 300
NOISE = re.compile("^\\s*ERROR\\s*\u274c\ufe0f?\\s*")
SOURCE_LOCATION = re.compile(r"^Exception from \S+:\d+:$")


class ModelRejected(ValueError):
    """Not a model the workers can run; the message says why, on one line."""


@dataclass(frozen=True)
class ModelProbe:
    format: str
    class_names: list[str]
    input_size: int
    image: str
    boxes: int
    predict_ms: float
    load_ms: float  # load and warm-up, as a worker pays it once per process
    device: str
    backend: str  # torch, openvino or onnxruntime: what the workers run it on here
    runtime: str


def model_format(path: Path) -> str:
    """The format of a file or folder that exists, else ModelRejected."""
    if not path.exists():
        raise ModelRejected(f"model not found: {path}")
    try:
        return loader.detect_format(path)
    except ValueError as exc:
        raise ModelRejected(str(exc)) from None


def probe_model(path: Path, input_size: int | None = None) -> ModelProbe:
    fmt = model_format(path)
    if fmt == ModelVersion.Format.OPENVINO:
        _check_openvino_ir(path)
    size = _input_size(path, input_size)
    try:
        with _quiet_ultralytics():
            loaded = open_model(path, size)
            boxes, predict_ms = _predict_sample(loaded)
    except Exception as exc:  # whatever a loader or runtime raises means the workers can't run it
        raise ModelRejected(_reason(path, fmt, exc)) from exc
    return ModelProbe(
        format=fmt,
        class_names=loaded.class_names,
        input_size=loaded.input_size,
        image=PROBE_IMAGE.name,
        boxes=boxes,
        predict_ms=predict_ms,
        load_ms=loaded.load_ms,
        device=loaded.device,
        backend=loaded.backend,
        runtime=loaded.runtime,
    )


def _check_openvino_ir(folder: Path) -> None:
    """An OpenVINO IR is an `.xml` and a `.bin`. Checked here because OpenVINO, given a broken
    .xml, tries every other frontend too and each prints its own parse errors."""
    xml = next(folder.glob("*.xml"))
    weights = xml.with_suffix(".bin")
    if not weights.is_file():
        raise ModelRejected(f"{folder.name}: {xml.name} has no {weights.name} beside it")
    try:
        _, first = next(ElementTree.iterparse(xml, events=("start",)))
    except ElementTree.ParseError as exc:
        raise ModelRejected(f"{folder.name}: {xml.name} is not valid XML ({exc})") from None
    if first.tag != "net":
        raise ModelRejected(f"{folder.name}: {xml.name} is not an OpenVINO IR (<{first.tag}>)")


def _input_size(path: Path, requested: int | None) -> int | None:
    """A static export letterboxes every image to the size it was traced at: another size
    cannot apply, so say so instead of serving it at a size it ignores."""
    fixed = loader.fixed_input_size(path)
    if fixed and requested and requested != fixed:
        raise ModelRejected(
            f"{path.name} is exported with a fixed {fixed}px input; --input-size {requested} "
            f"cannot apply (export it again with imgsz={requested}, or leave --input-size out)"
        )
    return requested or fixed


def _predict_sample(loaded: LoadedModel) -> tuple[int, float]:
    config = PreprocessConfig.from_settings()
    array = preprocess(PROBE_IMAGE.read_bytes(), loaded.input_size, config).array
    started = time.perf_counter()
    prediction = loaded.predict([array], conf=PROBE_CONFIDENCE)[0]
    return len(prediction.confidences), (time.perf_counter() - started) * 1000


def _reason(path: Path, fmt: str, exc: Exception) -> str:
    if type(exc) is ValueError:  # open_model's own wording (not a detector)
        return str(exc)
    if isinstance(exc, ImportError):
        package = RUNTIME_PACKAGES[fmt]
        return f"{path.name}: {package} is not installed ({_message(exc)}); install {package}"
    return f"{path.name}: cannot load it as {FORMAT_NAMES[fmt]}: {_message(exc)}"


def _message(exc: Exception) -> str:
    """The exception's first telling line with its type: ultralytics prefixes `ERROR ❌️`,
    OpenVINO stacks `Exception from src/...cpp:NN:` lines above the message."""
    lines = [NOISE.sub("", line).strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line and not SOURCE_LOCATION.match(line)]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text[:REASON_MAX_CHARS]


@contextmanager
def _quiet_ultralytics() -> Iterator[None]:
    """ultralytics logs its own progress and warnings to stdout; the probe's report is ours."""
    ultralytics_logger = logging.getLogger("ultralytics")
    level = ultralytics_logger.level
    ultralytics_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        ultralytics_logger.setLevel(level)
