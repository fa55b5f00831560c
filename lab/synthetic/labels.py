"""Shipping labels: a 4x6-inch-like sheet with address lines, a carrier block and a barcode,
pasted onto a parcel face (the face's perspective is applied later, with the face)."""

from __future__ import annotations

import string

import cv2
import numpy as np

from lab.synthetic.geometry import Points, apply_affine, rect_corners
from lab.synthetic.textures import Image, grain

_BASE = (240, 360)  # width, height of the master drawing; resized to the face afterwards
_INK = (25, 25, 28)
_CHARS = string.ascii_uppercase + string.digits + "  -"


def render_label(rng: np.random.Generator) -> Image:
    """A label master at _BASE size: paper, a header bar, text lines and a barcode."""
    width, height = _BASE
    # Drawn in uint8: OpenCV's text renderer only accepts 8-bit images.
    image = np.full((height, width, 3), int(rng.uniform(232, 250)), np.uint8)
    image[..., 0] -= int(rng.uniform(0, 8))  # slightly warm paper
    y = _header(rng, image)
    y = _text_block(rng, image, y, int(rng.integers(3, 6)))
    cv2.line(image, (8, y), (width - 8, y), _INK, 2)
    y = _barcode(rng, image, y + 10, int(height * rng.uniform(0.18, 0.26)))
    _text_block(rng, image, y + 6, int(rng.integers(1, 3)))
    if rng.random() < 0.4:
        _matrix_code(rng, image)
    return image.astype(np.float32) + grain(rng, height, width, 2.0)[..., None]


def _header(rng: np.random.Generator, image: np.ndarray) -> int:
    width = image.shape[1]
    if rng.random() < 0.5:
        cv2.rectangle(image, (8, 8), (width - 8, 52), _INK, -1)
        white = (245, 245, 245)
        cv2.putText(image, _word(rng, 4), (16, 42), cv2.FONT_HERSHEY_DUPLEX, 1.1, white, 2)
    else:
        cv2.putText(image, _word(rng, 3), (10, 44), cv2.FONT_HERSHEY_DUPLEX, 1.3, _INK, 3)
        cv2.rectangle(image, (width - 70, 8), (width - 10, 52), _INK, 3)
    return 62


def _text_block(rng: np.random.Generator, image: np.ndarray, top: int, lines: int) -> int:
    y = top
    for _ in range(lines):
        y += int(rng.integers(16, 22))
        length = int(rng.integers(8, 20))
        cv2.putText(image, _word(rng, length), (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _INK, 1)
    return y + 8


def _barcode(rng: np.random.Generator, image: np.ndarray, top: int, height: int) -> int:
    width = image.shape[1]
    x = 18
    while x < width - 22:
        bar = int(rng.integers(1, 5))
        cv2.rectangle(image, (x, top), (x + bar - 1, top + height), _INK, -1)
        x += bar + int(rng.integers(1, 5))
    digits = "".join(str(d) for d in rng.integers(0, 10, 14))
    cv2.putText(image, digits, (30, top + height + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _INK, 1)
    return top + height + 20


def _matrix_code(rng: np.random.Generator, image: np.ndarray) -> None:
    """A 2D code in the lower-right corner: random modules plus a finder square."""
    cells, module = 12, 5
    x0 = image.shape[1] - cells * module - 10
    y0 = image.shape[0] - cells * module - 10
    bits = rng.random((cells, cells)) < 0.5
    for r, c in zip(*np.nonzero(bits), strict=True):
        x, y = x0 + c * module, y0 + r * module
        cv2.rectangle(image, (x, y), (x + module - 1, y + module - 1), _INK, -1)
    cv2.rectangle(image, (x0, y0), (x0 + 3 * module, y0 + 3 * module), _INK, 2)


def _word(rng: np.random.Generator, length: int) -> str:
    return "".join(_CHARS[i] for i in rng.integers(0, len(_CHARS), length))


def paste_label(
    rng: np.random.Generator, face: Image, metres: tuple[float, float]
) -> Points | None:
    """Stick a label somewhere on `face` (in place); returns its corners in face coordinates,
    or None when the face is too small to carry one legibly."""
    height, width = face.shape[:2]
    px_per_m = width / metres[0]
    size = np.array([0.102, 0.152]) * rng.uniform(0.6, 1.1) * px_per_m  # ~4x6 inches
    turned = rng.random() < 0.5
    if turned:
        size = size[::-1]
    fit = min(0.8 * width / size[0], 0.8 * height / size[1], 1.0)
    size = size * fit
    # Too small to carry one legibly, or no room for the 1 px margin on a face under ~10 px.
    if min(size) < 6 or size[0] > width - 2 or size[1] > height - 2:
        return None
    master = render_label(rng)
    if turned:
        master = np.ascontiguousarray(np.rot90(master))
    angle = float(rng.normal(0, 4))
    centre = (
        float(rng.uniform(size[0] / 2 + 1, width - size[0] / 2 - 1)),
        float(rng.uniform(size[1] / 2 + 1, height - size[1] / 2 - 1)),
    )
    return paste_rotated(face, master, centre, (float(size[0]), float(size[1])), angle)


def paste_rotated(
    canvas: Image,
    patch: Image,
    centre: tuple[float, float],
    size: tuple[float, float],
    angle: float,
) -> Points:
    """Scale `patch` to `size`, rotate it by `angle` degrees about `centre`, composite it in
    place and return its corners. Resizing first (area filter) keeps thin bars from aliasing."""
    w, h = max(1, round(size[0])), max(1, round(size[1]))
    small = cv2.resize(patch, (w, h), interpolation=cv2.INTER_AREA)
    matrix = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), angle, 1.0)
    matrix[:, 2] += np.array(centre) - np.array([w / 2, h / 2])
    out_size = (canvas.shape[1], canvas.shape[0])
    warped = cv2.warpAffine(small, matrix, out_size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(np.ones((h, w), np.float32), matrix, out_size, flags=cv2.INTER_LINEAR)
    canvas += (warped - canvas) * alpha[..., None]
    return apply_affine(matrix, rect_corners(0, 0, w, h))
