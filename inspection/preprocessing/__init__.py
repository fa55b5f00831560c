"""Image preprocessing: untrusted upload bytes in, a model-ready BGR array and quality report out.

Pure numpy/Pillow/OpenCV; the caller passes a PreprocessConfig (see `PreprocessConfig.from_settings`)
so nothing here imports Django at module import time.
"""

from .config import PreprocessConfig
from .errors import ImageRejected
from .header import ImageHeader, inspect_header

__all__ = [
    "ImageHeader",
    "ImageRejected",
    "PreprocessConfig",
    "inspect_header",
]
