"""The picture a reviewer (or an export) sees: the stored original decoded the way the pipeline
decodes it (first frame, CMYK / 16-bit / alpha handled) and turned by its EXIF orientation, so
it has exactly the geometry the boxes were mapped to. Re-encoded as JPEG: browsers and training
tools then never meet a CMYK, 16-bit, TIFF or rotated-by-tag file."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PillowImage

from inspection import storage
from inspection.models import Image
from inspection.preprocessing import PreprocessConfig
from inspection.preprocessing.decode import decode_rgb, read_orientation
from inspection.preprocessing.geometry import fitted_size, orient, resize
from inspection.preprocessing.header import open_image

JPEG_QUALITY = 90


def oriented_rgb(data: bytes, max_side: int | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB in display orientation, longest side at most `max_side`."""
    with open_image(data, PreprocessConfig.from_settings()) as (picture, header):
        longest = max_side or max(header.width, header.height)
        orientation = read_orientation(picture)
        rgb = decode_rgb(picture, longest)
        size = fitted_size(header.width, header.height, longest)
        return np.ascontiguousarray(orient(resize(rgb, size), orientation))


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    PillowImage.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def image_jpeg(image: Image, max_side: int | None = None, quality: int = JPEG_QUALITY) -> bytes:
    """The image's original upload as an oriented JPEG (full size unless `max_side`)."""
    return encode_jpeg(oriented_rgb(storage.read_bytes(image.storage_key), max_side), quality)
