"""preprocess(): upload bytes -> model-ready BGR array, original geometry and a quality report."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .config import PreprocessConfig
from .decode import decode_rgb, read_orientation
from .errors import ImageRejected
from .geometry import fitted_size, orient, oriented_size, resize
from .header import ImageHeader, open_image
from .lighting import normalize_lighting
from .quality import check_usable, measure, review_flags


@dataclass(frozen=True)
class PreprocessResult:
    """`array` is HxWx3 uint8 BGR; width/height are the oriented original (box coordinates)."""

    array: np.ndarray
    scale: float
    width: int
    height: int
    format: str
    multi_frame: bool
    quality: dict[str, float]
    flags: list[str]


@dataclass(frozen=True)
class _Decoded:
    header: ImageHeader
    orientation: int
    rgb: np.ndarray
    tables: Mapping[int, Sequence[int]] | None


def _decode(data: bytes, target_size: int, config: PreprocessConfig) -> _Decoded:
    with open_image(data, config) as (image, header), _known_header(header):
        orientation = read_orientation(image)
        rgb = decode_rgb(image, target_size)
        return _Decoded(header, orientation, rgb, getattr(image, "quantization", None))


@contextmanager
def _known_header(header: ImageHeader) -> Iterator[None]:
    """A refusal after the header was read still tells what the file is."""
    try:
        yield
    except ImageRejected as rejected:
        rejected.header = rejected.header or header
        raise


def _model_array(decoded: _Decoded, target_size: int) -> np.ndarray:
    # Resize before orienting: the longest side is the same either way and the rotation is cheaper.
    size = fitted_size(decoded.header.width, decoded.header.height, target_size)
    oriented = orient(resize(decoded.rgb, size), decoded.orientation)
    return np.ascontiguousarray(oriented[..., ::-1])  # RGB -> BGR, one copy


def preprocess(data: bytes, target_size: int, config: PreprocessConfig) -> PreprocessResult:
    """Decode, orient and shrink an upload for the detector. Raises ImageRejected for bad input."""
    if target_size < 1:
        raise ValueError(f"target_size must be positive, got {target_size}")
    decoded = _decode(data, target_size, config)
    array = _model_array(decoded, target_size)
    metrics = measure(array, decoded.tables)
    with _known_header(decoded.header):
        check_usable(metrics, config)
    header = decoded.header
    width, height = oriented_size(header.width, header.height, decoded.orientation)
    return PreprocessResult(
        array=normalize_lighting(array) if config.normalize_lighting else array,
        scale=array.shape[1] / width,
        width=width,
        height=height,
        format=header.format,
        multi_frame=header.multi_frame,
        quality=metrics,
        flags=review_flags(metrics, config),
    )
