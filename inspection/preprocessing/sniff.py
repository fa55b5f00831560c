"""Name a file's format from its first bytes, before any decoder sees it.

This is what tells "a PDF or SVG someone uploaded" (unsupported_format) apart from "not an image at
all", and "a JPEG Pillow cannot parse" (corrupt) apart from random bytes. Names match Pillow's.
"""

from __future__ import annotations

# (offset, magic, format). Allowed raster formats first, then image-like formats we refuse.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"II+\x00", "TIFF"),
    (0, b"MM\x00+", "TIFF"),
    (0, b"BM", "BMP"),
    (0, b"%PDF-", "PDF"),
    (0, b"%!PS", "EPS"),
    (0, b"\xc5\xd0\xd3\xc6", "EPS"),
    (0, b"8BPS", "PSD"),
    (0, b"\x00\x00\x01\x00", "ICO"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG2000"),
    (0, b"\xff\x0a", "JXL"),
    (0, b"\x00\x00\x00\x0cJXL ", "JXL"),
)

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _is_heif(head: bytes) -> bool:
    # ISO-BMFF: a box size, then "ftyp" and the major brand (HEIC from phones, AVIF).
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _is_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in text


def sniff_format(data: bytes) -> str | None:
    """Return the format name the content claims to be, or None when no known magic matches."""
    head = data[:1024]
    for offset, magic, name in _MAGIC:
        if head.startswith(magic, offset):
            return name
    if _is_webp(head):
        return "WEBP"
    if _is_heif(head):
        return "HEIF"
    return "SVG" if _is_svg(head) else None
