"""Test image factories: deterministic bytes generated in code (no files in the repository).

Every factory returns the encoded file as `bytes`, the way an upload reaches the service.
`scene()` is the synthetic package photo most of them start from: a textured floor with a few
cardboard boxes, each with tape, an outline and a white label carrying a barcode and text lines.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

Factory = Callable[[], bytes]

CMYK_RED = (0, 255, 255, 0)
CMYK_BLUE = (255, 255, 0, 0)
ALPHA_HALF = 128
PALETTE_COLOURS = ((255, 0, 0), (0, 160, 0), (0, 0, 255), (250, 220, 30))
GIF_FRAME_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0))
SIXTEEN_BIT_LEVELS = (0, 32768, 65535)
GREY_LEVELS = (20, 90, 160, 230)
# Stored-orientation corner markers of exif_rotated_jpeg (BGR): red top-left, green top-right.
MARKER_RED = (0, 0, 255)
MARKER_GREEN = (0, 255, 0)


# --- the synthetic scene -----------------------------------------------------------------------


def _floor(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    # Concrete-like: beige grey, slow blotches, fine grain.
    blotches = cv2.resize(rng.normal(0, 14, (6, 8)), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 6, (height, width))
    luma = (blotches + grain)[..., None]
    return np.clip(np.array([88.0, 96.0, 104.0]) + luma, 0, 255).astype(np.uint8)


def _label(image: np.ndarray, x: int, y: int, w: int, h: int, rng: np.random.Generator) -> None:
    cv2.rectangle(image, (x, y), (x + w, y + h), (238, 240, 242), -1)
    bar_x = x + w // 10
    while bar_x < x + w * 9 // 10:  # barcode: black bars of random width
        bar_w = int(rng.integers(1, 4)) * max(1, w // 90)
        cv2.rectangle(image, (bar_x, y + h // 8), (bar_x + bar_w - 1, y + h // 2), (20, 20, 20), -1)
        bar_x += bar_w * 2
    for row in range(3):  # text lines
        line_y = y + h * (11 + 3 * row) // 20
        line_w = int(w * rng.uniform(0.4, 0.8))
        cv2.rectangle(
            image, (x + w // 10, line_y), (x + w // 10 + line_w, line_y + h // 20), (60, 60, 60), -1
        )


def _box(image: np.ndarray, rng: np.random.Generator) -> None:
    height, width = image.shape[:2]
    w, h = int(width * rng.uniform(0.16, 0.28)), int(height * rng.uniform(0.22, 0.4))
    x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
    colour = tuple(int(c) for c in np.array([100, 155, 205]) + rng.integers(-15, 15, 3))
    thickness = max(1, width // 300)
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, -1)
    cv2.rectangle(image, (x + w * 2 // 5, y), (x + w * 3 // 5, y + h), (175, 205, 225), -1)  # tape
    cv2.rectangle(image, (x, y), (x + w, y + h), (30, 45, 65), thickness)
    _label(image, x + w // 8, y + h // 2, w * 3 // 5, h * 2 // 5, rng)


def scene(width: int = 1280, height: int = 720, seed: int = 0) -> np.ndarray:
    """The synthetic package photo, HxWx3 uint8 BGR: well exposed, sharp, contrasty."""
    rng = np.random.default_rng(seed)
    image = _floor(width, height, rng)
    for _ in range(4):
        _box(image, rng)
    return image


# --- encoders ----------------------------------------------------------------------------------


def encode_jpeg(bgr: np.ndarray, quality: int = 90) -> bytes:
    return cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def encode_png(array: np.ndarray) -> bytes:
    return cv2.imencode(".png", array)[1].tobytes()


def pillow_bytes(image: Image.Image, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def adjusted(bgr: np.ndarray, gain: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Pixel values mapped through gain*v + offset: exposure and contrast changes."""
    return np.clip(bgr.astype(np.float64) * gain + offset, 0, 255).astype(np.uint8)


def _bands(
    width: int, height: int, colours: tuple[tuple[int, ...], ...], dtype: type
) -> np.ndarray:
    # Vertical bands, one per colour, left to right.
    columns = np.arange(width) * len(colours) // width
    image: np.ndarray = np.asarray(colours, dtype=dtype)[columns]
    return np.ascontiguousarray(np.broadcast_to(image, (height, *image.shape)))


# --- photos ------------------------------------------------------------------------------------


def photo_jpeg(width: int = 1280, height: int = 720, seed: int = 0, quality: int = 90) -> bytes:
    return encode_jpeg(scene(width, height, seed), quality)


def photo_png(width: int = 640, height: int = 480, seed: int = 0) -> bytes:
    return encode_png(scene(width, height, seed))


def dark_photo_jpeg() -> bytes:
    """Mean brightness about 30: flagged too_dark, still usable."""
    return encode_jpeg(adjusted(scene(640, 480), gain=0.27))


def black_photo_jpeg() -> bytes:
    """Nearly black (mean about 5): rejected as too_dark."""
    return encode_jpeg(adjusted(scene(640, 480), gain=0.04))


def bright_photo_jpeg() -> bytes:
    """Washed out (mean about 230): flagged overexposed, still usable."""
    return encode_jpeg(adjusted(scene(640, 480), gain=0.45, offset=175))


def white_photo_jpeg() -> bytes:
    """Nearly white: rejected as too_bright."""
    return encode_jpeg(adjusted(scene(640, 480), gain=0.05, offset=248))


def low_contrast_photo_jpeg() -> bytes:
    """Foggy: luma spread (std) about 10, flagged low_contrast."""
    return encode_jpeg(adjusted(scene(640, 480), gain=0.2, offset=100))


def blank_png(value: int = 128) -> bytes:
    """One uniform grey: rejected as blank."""
    return encode_png(np.full((240, 320, 3), value, np.uint8))


def blurry_photo_jpeg() -> bytes:
    """Out of focus: flagged too_blurry."""
    return encode_jpeg(cv2.GaussianBlur(scene(1280, 720), (0, 0), sigmaX=8))


def heavy_compression_jpeg() -> bytes:
    return photo_jpeg(640, 480, quality=5)


# --- pixel formats -----------------------------------------------------------------------------


def cmyk_jpeg() -> bytes:
    """Adobe CMYK JPEG (Pillow stores it inverted, like Photoshop): left red, right blue."""
    image = Image.fromarray(_bands(256, 128, (CMYK_RED, CMYK_BLUE), np.uint8), "CMYK")
    return pillow_bytes(image, "JPEG", quality=95)


def sixteen_bit_png(channels: int = 1) -> bytes:
    """16-bit grey (or RGB) PNG with bands at SIXTEEN_BIT_LEVELS, left to right."""
    levels = tuple((level,) * channels for level in SIXTEEN_BIT_LEVELS)
    return encode_png(_bands(192, 64, levels, np.uint16).squeeze())


def grayscale_png() -> bytes:
    """8-bit single-channel PNG with bands at GREY_LEVELS."""
    return encode_png(_bands(256, 64, tuple((g,) for g in GREY_LEVELS), np.uint8).squeeze())


def palette_png() -> bytes:
    """Palette (P) PNG with bands in PALETTE_COLOURS (RGB)."""
    image = Image.fromarray(_bands(256, 64, PALETTE_COLOURS, np.uint8), "RGB")
    return pillow_bytes(image.quantize(colors=len(PALETTE_COLOURS)), "PNG")


def alpha_png() -> bytes:
    """RGBA bands: opaque red, white at alpha ALPHA_HALF, fully transparent black."""
    colours = ((255, 0, 0, 255), (255, 255, 255, ALPHA_HALF), (0, 0, 0, 0))
    return pillow_bytes(Image.fromarray(_bands(240, 64, colours, np.uint8), "RGBA"), "PNG")


def multi_frame_image(format: str = "GIF", frames: int = 3) -> bytes:
    """GIF, TIFF, WEBP (lossless) or MPO; frame k: left half GIF_FRAME_COLOURS[k], right white."""
    pictures = [
        Image.fromarray(_bands(128, 96, (colour, (255, 255, 255)), np.uint8), "RGB")
        for colour in GIF_FRAME_COLOURS[:frames]
    ]
    options = {"lossless": True} if format == "WEBP" else {}
    return pillow_bytes(
        pictures[0], format, save_all=True, append_images=pictures[1:], duration=100, **options
    )


def animated_gif(frames: int = 3) -> bytes:
    return multi_frame_image("GIF", frames)


def exif_rotated_jpeg(orientation: int = 6) -> bytes:
    """Stored 640x480 with a red block top-left and a green one top-right, EXIF orientation set."""
    bgr = scene(640, 480, seed=3)
    bgr[:80, :80] = MARKER_RED
    bgr[:80, -80:] = MARKER_GREEN
    exif = Image.Exif()
    exif[0x0112] = orientation
    rgb = Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))
    return pillow_bytes(rgb, "JPEG", quality=92, exif=exif.tobytes())


def tiny_image_png() -> bytes:
    return encode_png(scene(8, 8))


# --- broken and hostile files ------------------------------------------------------------------


def truncated_jpeg() -> bytes:
    data = photo_jpeg(640, 480)
    return data[: len(data) // 2]


def corrupt_jpeg() -> bytes:
    """Headers intact (it opens, size known) but bogus Huffman tables: decoding fails."""
    data = bytearray(photo_jpeg(320, 240))
    dht = data.index(b"\xff\xc4")
    data[dht + 5 : dht + 21] = b"\xff" * 16  # 16 code counts summing far past 256
    return bytes(data)


def empty_file() -> bytes:
    return b""


def non_image() -> bytes:
    return b"sku,weight_kg,damaged\nA-100,2.5,no\nA-101,3.1,yes\n"


def svg_image() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">'
        b'<rect width="640" height="480" fill="#8b5a2b"/></svg>\n'
    )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def decompression_bomb_png(side: int = 40_000) -> bytes:
    """A few hundred bytes declaring side x side 8-bit grey pixels (1.6 G by default).

    The IDAT holds the start of an all-zero deflate stream, flushed but not finished: a complete
    stream for 1.6 GB cannot be small (deflate tops out near 1000:1), and a decoder would have
    allocated the whole image before noticing the stream ends early.
    """
    compressor = zlib.compressobj(9)
    idat = compressor.compress(bytes(side + 1) * 64) + compressor.flush(zlib.Z_SYNC_FLUSH)
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", idat),
            _png_chunk(b"IEND", b""),
        )
    )


# --- files built to be slow to read --------------------------------------------------------------
# Each is a valid small image whose header makes a reader walk a very long structure before the
# pixels: counting a TIFF's pages, a GIF's frames, a PNG's chunks or a JPEG's markers grows with
# the file, not with the image.


def tiff_many_pages(pages: int = 200_000) -> bytes:
    """Little-endian TIFF of `pages` chained 32x32 grey pages sharing one strip (22 MB)."""
    entry = struct.Struct("<HHII")
    ifd_size = 2 + 9 * entry.size + 4
    strip = 8 + pages * ifd_size
    tags = ((256, 3, 1, 32), (257, 3, 1, 32), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
            (273, 4, 1, strip), (277, 3, 1, 1), (278, 3, 1, 32), (279, 4, 1, 1024))  # fmt: skip
    body = b"".join(entry.pack(*tag) for tag in tags)
    ifds = b"".join(
        struct.pack("<H", len(tags))
        + body
        + struct.pack("<I", 8 + (page + 1) * ifd_size if page < pages - 1 else 0)
        for page in range(pages)
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifds + bytes(1024)


def gif_many_frames(frames: int = 200_000) -> bytes:
    """A 32x32 GIF with `frames` one-pixel-data frames after its first."""
    first = pillow_bytes(Image.new("P", (32, 32), 7), "GIF")
    frame = (
        b"\x21\xf9\x04\x00\x00\x00\x00\x00"
        + b"\x2c"
        + struct.pack("<HHHH", 0, 0, 32, 32)
        + b"\x00\x08\x01\x00\x00"
    )
    return first[:-1] + frame * frames + first[-1:]


def png_many_chunks(chunks: int = 1_000_000) -> bytes:
    """A 64x64 PNG with `chunks` tiny text chunks before its pixels (15 MB)."""
    data = pillow_bytes(Image.new("RGB", (64, 64)), "PNG")
    after_header = 8 + 25
    return data[:after_header] + _png_chunk(b"tEXt", b"k\x00v") * chunks + data[after_header:]


def jpeg_many_markers(markers: int = 3_000_000) -> bytes:
    """A 64x64 JPEG with `markers` empty comment segments before its frame header (15 MB)."""
    data = pillow_bytes(Image.new("RGB", (64, 64)), "JPEG")
    return data[:2] + b"\xff\xfe\x00\x03x" * markers + data[2:]
