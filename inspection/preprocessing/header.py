"""Identify an upload and check it against the limits without decoding a single pixel.

Pillow's `Image.open` reads only the header, so a decompression bomb (a few KB declaring billions of
pixels) is refused here in well under a millisecond, before anything is allocated for it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from PIL import Image, UnidentifiedImageError

from .config import PreprocessConfig
from .errors import ImageRejected, decoder_errors
from .sniff import sniff_format

# A JPEG with a multi-picture index (phone cameras) is opened by Pillow as MPO.
_JPEG_FAMILY = frozenset({"JPEG", "MPO"})


@dataclass(frozen=True)
class ImageHeader:
    """What the file declares: format (Pillow's name), stored size, more than one frame."""

    format: str
    width: int
    height: int
    multi_frame: bool = False


@cache
def _pillow_formats(allowed: frozenset[str]) -> tuple[str, ...]:
    # Only let Pillow try the allowed plugins: fewer parsers ever see untrusted bytes, and
    # Image.open raises KeyError for names it does not know.
    Image.init()
    return tuple(sorted(name for name in allowed if name in Image.OPEN))


def _check_claimed_format(data: bytes, config: PreprocessConfig) -> str | None:
    if not data:
        raise ImageRejected("empty_file", "The uploaded file is empty.")
    claimed = sniff_format(data)
    family = _JPEG_FAMILY if claimed == "JPEG" else {claimed}
    if claimed is not None and not family & config.allowed_formats:
        raise ImageRejected("unsupported_format", f"{claimed} files are not accepted.")
    return claimed


def _unidentified(claimed: str | None) -> ImageRejected:
    if claimed is None:
        return ImageRejected("not_an_image", "The file is not a recognised image.")
    return ImageRejected("corrupt", f"The file starts like a {claimed} but its header is broken.")


def _open_pillow(data: bytes, claimed: str | None, config: PreprocessConfig) -> Image.Image:
    with decoder_errors():
        try:
            return Image.open(io.BytesIO(data), formats=_pillow_formats(config.allowed_formats))
        except UnidentifiedImageError as error:
            raise _unidentified(claimed) from error


def _multi_frame(image: Image.Image) -> bool:
    """More than one frame, asked without counting them: counting walks every frame (and
    Pillow's TIFF walk grows with the square of the frame count), while "is there a second?"
    reads one more header at most. An MPO's extra frames are a phone's previews of the same
    shot, not other pictures."""
    if image.format == "MPO":
        return False
    with decoder_errors():
        return bool(getattr(image, "is_animated", False))


def _check_limits(image: Image.Image, config: PreprocessConfig) -> ImageHeader:
    if image.format not in config.allowed_formats:
        raise ImageRejected("unsupported_format", f"{image.format} files are not accepted.")
    width, height = image.size
    read = ImageHeader(str(image.format), width, height)
    if width * height > config.max_pixels:
        detail = f"{width}x{height} exceeds the limit of {config.max_pixels} pixels."
        raise ImageRejected("too_many_pixels", detail, read)
    if min(width, height) < config.min_side:
        detail = f"{width}x{height} is smaller than {config.min_side} pixels on a side."
        raise ImageRejected("too_small", detail, read)
    header = ImageHeader(read.format, width, height, _multi_frame(image))
    if header.multi_frame and config.refuse_multi_frame:
        detail = "The file holds several frames or pages; only single images are accepted."
        raise ImageRejected("multi_frame", detail, header)
    return header


@contextmanager
def open_image(data: bytes, config: PreprocessConfig) -> Iterator[tuple[Image.Image, ImageHeader]]:
    """Open lazily (pixels not decoded) after every cheap check has passed; closes on exit."""
    claimed = _check_claimed_format(data, config)
    image = _open_pillow(data, claimed, config)
    with image:
        yield image, _check_limits(image, config)


def inspect_header(data: bytes, config: PreprocessConfig) -> ImageHeader:
    """Format from content, allowlist, pixel limit and minimum side. Raises ImageRejected."""
    with open_image(data, config) as (_, header):
        return header
