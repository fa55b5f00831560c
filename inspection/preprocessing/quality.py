"""Capture-quality metrics, the verdicts drawn from them, and a JPEG quality estimate.

Metrics are measured on the resized array, so a sharp 12 MP photo and the same scene at 1080p
score alike and one set of thresholds fits every camera.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from .config import PreprocessConfig
from .errors import ImageRejected

# The IJG (libjpeg) base luminance table, natural order, which quality 1-100 scales.
_IJG_LUMINANCE = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.float64,
)  # fmt: skip


def _ijg_tables() -> np.ndarray:
    # Row q-1 is the baseline table libjpeg writes for quality q (jpeg_quality_scaling).
    qualities = np.arange(1, 101, dtype=np.float64)[:, None]
    scaling = np.where(qualities < 50, 5000 / qualities, 200 - 2 * qualities)
    return np.clip(np.floor((_IJG_LUMINANCE * scaling + 50) / 100), 1, 255)


_TABLES_BY_QUALITY = _ijg_tables()


def estimate_jpeg_quality(tables: Mapping[int, Sequence[int]] | None) -> float | None:
    """The IJG quality whose luminance table is nearest the file's (Pillow gives natural order).

    Exact for libjpeg-family encoders; for other encoders, the nearest equivalent.
    """
    if not tables or len(tables.get(0, ())) != 64:
        return None
    distances = np.abs(_TABLES_BY_QUALITY - np.asarray(tables[0], dtype=np.float64)).sum(axis=1)
    return float(np.argmin(distances) + 1)


def measure(bgr: np.ndarray, tables: Mapping[int, Sequence[int]] | None) -> dict[str, float]:
    """blur, brightness, contrast, over/underexposed fractions, and jpeg_quality for JPEGs."""
    luma = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    metrics = {
        "blur": float(cv2.Laplacian(luma, cv2.CV_64F).var()),
        "brightness": float(luma.mean()),
        "contrast": float(luma.std()),
        "overexposed": float(np.count_nonzero(luma >= 250) / luma.size),
        "underexposed": float(np.count_nonzero(luma <= 5) / luma.size),
    }
    jpeg_quality = estimate_jpeg_quality(tables)
    if jpeg_quality is not None:
        metrics["jpeg_quality"] = jpeg_quality
    return metrics


def check_usable(metrics: Mapping[str, float], config: PreprocessConfig) -> None:
    """Raise ImageRejected when the exposure leaves nothing for the detector to see."""
    brightness = metrics["brightness"]
    if brightness < config.fail_dark_brightness:
        raise ImageRejected("too_dark", f"Mean brightness {brightness:.0f}/255 is too dark to use.")
    if brightness > config.fail_bright_brightness:
        raise ImageRejected("too_bright", f"Mean brightness {brightness:.0f}/255 is washed out.")
    if metrics["contrast"] < config.fail_low_contrast:
        raise ImageRejected("blank", "The image is a uniform colour with nothing to inspect.")


def review_flags(metrics: Mapping[str, float], config: PreprocessConfig) -> list[str]:
    """Names of the usable-but-doubtful conditions that route a result to human review."""
    checks = {
        "too_dark": metrics["brightness"] < config.dark_brightness,
        "overexposed": metrics["brightness"] > config.bright_brightness,
        "too_blurry": metrics["blur"] < config.blur_variance,
        "low_contrast": metrics["contrast"] < config.low_contrast,
        "heavy_compression": metrics.get("jpeg_quality", 100.0) < config.min_jpeg_quality,
    }
    return [name for name, failed in checks.items() if failed]
