"""In-process baselines with the workers' own model wrapper (`runtime.LoadedModel`: same
loader, backend, thread setting and predict call as an inference worker).

- raw loop, two decoders: the project's `preprocess()` (Pillow with JPEG draft decode, resize
  to the model size, quality metrics: what the cpu worker does) and plain `cv2.imdecode` of the
  full frame (ultralytics letterboxes it). Both: read file, decode, predict in batches.
- batched vs image-by-image: the model alone on already-decoded arrays.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.stats import rate

Decoder = Callable[[bytes], np.ndarray]


def load_model(path: Path, input_size: int, device: str, threads: int | None) -> Any:
    """A LoadedModel exactly as a worker builds it (its backend: on a CPU, `.pt` weights through
    their cached OpenVINO export; warmed up), without a database row."""
    from django.test import override_settings

    from inspection.inference.loaded import open_model

    with override_settings(INFERENCE_DEVICE=device, INFERENCE_THREADS=threads or 0):
        return open_model(path, input_size)


def project_decoder(input_size: int) -> Decoder:
    from inspection.preprocessing import PreprocessConfig, preprocess

    config = PreprocessConfig.from_settings()

    def decode(data: bytes) -> np.ndarray:
        return preprocess(data, target_size=input_size, config=config).array

    return decode


def cv2_decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:  # OpenCV's answer to bytes it cannot decode
        raise ValueError("OpenCV cannot decode this image")
    return image


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def raw_loop(
    model: Any, paths: list[Path], decode: Decoder, batch_size: int, conf: float
) -> dict[str, Any]:
    """Read, decode and predict every image in batches; images/s over the whole loop."""
    started = time.perf_counter()
    boxes = 0
    for group in chunks(paths, batch_size):
        arrays = [decode(path.read_bytes()) for path in group]
        boxes += sum(len(p.confidences) for p in model.predict(arrays, conf=conf))
    seconds = time.perf_counter() - started
    return {
        "images": len(paths),
        "seconds": round(seconds, 3),
        "images_per_s": rate(len(paths), seconds),
        "boxes": boxes,
    }


def decode_loop(paths: list[Path], decode: Decoder) -> dict[str, Any]:
    """Read, decode and resize every image in one process, no model: the pipeline's ceiling
    when the model costs nothing."""
    started = time.perf_counter()
    for path in paths:
        decode(path.read_bytes())
    seconds = time.perf_counter() - started
    return {
        "images": len(paths),
        "seconds": round(seconds, 3),
        "images_per_s": rate(len(paths), seconds),
    }


def model_only(
    model: Any, arrays: list[np.ndarray], batch_size: int, conf: float
) -> dict[str, Any]:
    """The model alone (arrays already decoded) at one batch size."""
    started = time.perf_counter()
    for group in chunks(arrays, batch_size):
        model.predict(list(group), conf=conf)
    seconds = time.perf_counter() - started
    return {
        "batch_size": batch_size,
        "images": len(arrays),
        "seconds": round(seconds, 3),
        "images_per_s": rate(len(arrays), seconds),
    }


def single_image_ms(model: Any, array: np.ndarray, conf: float, repeats: int = 5) -> list[float]:
    """Model time for one image at batch 1, repeated (the latency benchmark's yardstick)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict([array], conf=conf)
        times.append(round((time.perf_counter() - started) * 1000, 2))
    return times
