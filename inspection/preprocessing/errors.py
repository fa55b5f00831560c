"""The one exception this layer raises for bad input, and the translation of decoder failures.

Uploads are untrusted: whatever a decoder throws on a hostile or broken file must reach the caller
as an ImageRejected with a stable reason code, never as a crash or a stray warning on stderr.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from .header import ImageHeader


class ImageRejected(Exception):
    """An unusable upload. `reason` is a machine-readable code; `detail` is for humans;
    `header` is what was read of the file before it was refused (None when nothing was), so a
    failed image still reports its size and format."""

    def __init__(self, reason: str, detail: str, header: ImageHeader | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.header = header


def _is_truncation(error: Exception) -> bool:
    # Pillow reports a short file as EOFError or as OSError("image file is truncated ...").
    return isinstance(error, EOFError) or "truncated" in str(error).lower()


def _rejection_for(error: Exception) -> ImageRejected:
    if isinstance(error, Image.DecompressionBombError):
        return ImageRejected("too_many_pixels", "The image declares more pixels than allowed.")
    if _is_truncation(error):
        return ImageRejected("truncated", "The image file ends before its pixel data does.")
    return ImageRejected("corrupt", f"The image could not be decoded ({type(error).__name__}).")


@contextmanager
def quiet_decoder_warnings() -> Iterator[None]:
    """Silence what Pillow warns about hostile or odd files: we check the limits ourselves."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        yield


@contextmanager
def decoder_errors() -> Iterator[None]:
    """Run decoder code; turn its failures into ImageRejected and keep its warnings quiet.

    MemoryError is left alone: under the pixel limit it means the worker is short of memory,
    which is a reason to retry elsewhere, not a verdict on the file.
    """
    with quiet_decoder_warnings():
        try:
            yield
        except (ImageRejected, MemoryError):
            raise
        except Exception as error:
            raise _rejection_for(error) from error
