"""Limits and quality thresholds, passed in by the caller so this layer never imports Django."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "MPO"})

# Field name -> Django setting name; from_settings reads only these.
_SETTING_NAMES = {
    "max_pixels": "MAX_IMAGE_PIXELS",
    "min_side": "MIN_IMAGE_SIDE",
    "allowed_formats": "ALLOWED_IMAGE_FORMATS",
    "refuse_multi_frame": "REFUSE_MULTI_FRAME_IMAGES",
    "normalize_lighting": "PREPROCESS_NORMALIZE_LIGHTING",
    "dark_brightness": "QUALITY_DARK_BRIGHTNESS",
    "fail_dark_brightness": "QUALITY_FAIL_DARK_BRIGHTNESS",
    "bright_brightness": "QUALITY_BRIGHT_BRIGHTNESS",
    "fail_bright_brightness": "QUALITY_FAIL_BRIGHT_BRIGHTNESS",
    "blur_variance": "QUALITY_BLUR_VARIANCE",
    "low_contrast": "QUALITY_LOW_CONTRAST",
    "fail_low_contrast": "QUALITY_FAIL_LOW_CONTRAST",
    "min_jpeg_quality": "QUALITY_MIN_JPEG_QUALITY",
}


@dataclass(frozen=True)
class PreprocessConfig:
    """Upload limits, then quality thresholds: `fail_*` rejects, the others flag for review."""

    max_pixels: int = 50_000_000
    min_side: int = 32
    allowed_formats: frozenset[str] = DEFAULT_FORMATS
    # Animated GIF/WebP/PNG and multi-page TIFF: the first frame is processed (and the image
    # flagged multi_frame), unless refused.
    refuse_multi_frame: bool = False
    normalize_lighting: bool = False
    dark_brightness: float = 50.0
    fail_dark_brightness: float = 12.0
    bright_brightness: float = 215.0
    fail_bright_brightness: float = 250.0
    blur_variance: float = 60.0
    low_contrast: float = 18.0
    fail_low_contrast: float = 3.0
    min_jpeg_quality: int = 40

    @classmethod
    def from_settings(cls) -> PreprocessConfig:
        """Build from Django settings; unset names keep the defaults above."""
        # Imported here: importing this package must not need Django.
        from django.conf import settings

        values = {
            field: getattr(settings, name)
            for field, name in _SETTING_NAMES.items()
            if hasattr(settings, name)
        }
        if "allowed_formats" in values:
            values["allowed_formats"] = frozenset(f.upper() for f in values["allowed_formats"])
        return cls(**values)
