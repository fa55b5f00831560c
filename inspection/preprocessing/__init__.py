"""Image preprocessing: untrusted upload bytes in, a model-ready BGR array and quality report out.

Pure numpy/Pillow/OpenCV; the caller passes a PreprocessConfig (see
`PreprocessConfig.from_settings`) so nothing here imports Django at module import time.
"""

from .config import PreprocessConfig
from .decode import NEUTRAL_BACKGROUND
from .errors import ImageRejected
from .geometry import boxes_to_original
from .header import ImageHeader, inspect_header
from .preprocessor import PreprocessResult, preprocess

__all__ = [
    "NEUTRAL_BACKGROUND",
    "ImageHeader",
    "ImageRejected",
    "PreprocessConfig",
    "PreprocessResult",
    "boxes_to_original",
    "inspect_header",
    "preprocess",
]
