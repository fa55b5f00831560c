"""Optional lighting normalisation for dim or uneven warehouse light."""

from __future__ import annotations

import cv2
import numpy as np


def normalize_lighting(bgr: np.ndarray) -> np.ndarray:
    """CLAHE on the L channel of LAB: evens out local contrast without shifting colours."""
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
