"""Schemathesis hooks for the API contract test (loaded by `tests/schemathesis.toml`).

Uploads are real cases: what a camera or a careless integrator sends. Schemathesis' own `binary`
values are random bytes and 1x1 sample images; these are drawn instead: photos in every format
and colour mode the pipeline handles, files that are not usable images (truncated, corrupt,
empty, not an image, random bytes), which the API accepts and the pipeline fails per image, and
a file under MIN_IMAGE_SIDE pixels a side, which the API refuses on its own (a failed image
listed in the 202's `refused_files`) while the rest of the batch goes on. Small, so a run with
hundreds of uploads stays fast.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st
from schemathesis.transport.serialization import Binary

from tests import images

UPLOADS = (
    images.photo_jpeg(160, 120, seed=1),
    images.photo_png(64, 48, seed=2),
    images.dark_photo_jpeg(),
    images.cmyk_jpeg(),
    images.sixteen_bit_png(),
    images.grayscale_png(),
    images.palette_png(),
    images.alpha_png(),
    images.animated_gif(),
    images.truncated_jpeg(),
    images.corrupt_jpeg(),
    images.empty_file(),
    images.non_image(),
    images.svg_image(),
    images.tiny_image_png(),
)

schemathesis.openapi.format(
    "binary", st.one_of(st.sampled_from(UPLOADS), st.binary(max_size=256)).map(Binary)
)
