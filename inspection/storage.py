"""Content-addressed storage of originals and storage of preprocessed arrays, through Django's
storage API (filesystem by default, S3-compatible with django-storages)."""

from __future__ import annotations

import hashlib
import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def original_key(sha256: str) -> str:
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def store_original(data: bytes, sha256: str = "") -> tuple[str, str]:
    """Store bytes under their hash (pass it when already computed); identical uploads share one
    file. Returns (key, sha256)."""
    sha256 = sha256 or content_hash(data)
    key = original_key(sha256)
    if default_storage.exists(key):
        return key, sha256
    # Two concurrent uploads of the same bytes may both write; the storage then picks a free
    # name for the second, so the name it returns is the one to keep.
    return default_storage.save(key, ContentFile(data)), sha256


def read_bytes(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def preprocessed_key(image_id: object) -> str:
    return f"preprocessed/{image_id}.npy"


def save_array(key: str, array: np.ndarray) -> str:
    """Write an array, replacing any earlier one under the same key (a rerun of the stage)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    if default_storage.exists(key):
        default_storage.delete(key)
    return default_storage.save(key, ContentFile(buffer.getvalue()))


def load_array(key: str) -> np.ndarray:
    return np.load(io.BytesIO(read_bytes(key)), allow_pickle=False)


def delete(key: str) -> None:
    if key and default_storage.exists(key):
        default_storage.delete(key)
