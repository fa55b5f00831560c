"""The run's uploads: small seeded synthetic photos (textured, well exposed, so every one goes
through the model), made in memory in about a millisecond each: a run of 500 images spends its
time in the cluster, not in making them."""

from __future__ import annotations

import cv2
import numpy as np

from bench.multihost.traffic import NamedFile

SIZE = (480, 360)


def photo(seed: int, size: tuple[int, int] = SIZE) -> bytes:
    """Mid-grey noise under a dozen coloured rectangles: sharp and contrasty, never too dark."""
    width, height = size
    rng = np.random.default_rng(seed)
    image = rng.integers(90, 170, (height, width, 3), dtype=np.uint8)
    for _ in range(12):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        corner = (x + int(rng.integers(30, 160)), y + int(rng.integers(30, 120)))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(image, (x, y), corner, color, -1)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(encoded.tobytes())


def uploads(prefix: str, count: int, first_seed: int) -> list[NamedFile]:
    """`count` distinct photos named `<prefix>-00000.jpg`...: each name is sent once, which is
    how the audit tells a lost or a doubled image."""
    return [(f"{prefix}-{index:05d}.jpg", photo(first_seed + index)) for index in range(count)]
