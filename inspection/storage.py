"""Content-addressed storage of originals and storage of preprocessed arrays, through Django's
storage API: the filesystem by default, S3-compatible object storage with django-storages
(STORAGE_BACKEND=storages.backends.s3.S3Storage; settings make a second save of a key replace
the object there, as the filesystem's delete-then-save does here).

Both backends answer alike: a missing key raises FileNotFoundError (the pipeline then fails the
image or preprocesses it again); an object store that cannot be reached raises ConnectionError,
which the pipeline treats as an outage, not the image's fault (retried, no attempt counted)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager

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
    with reachable():
        if default_storage.exists(key):
            return key, sha256
        # Two concurrent uploads of the same bytes may both write: an object store keeps one
        # object (same bytes), a filesystem picks a free name for the second, so the name it
        # returns is the one to keep.
        return default_storage.save(key, ContentFile(data)), sha256


def read_bytes(key: str) -> bytes:
    with reachable(), default_storage.open(key, "rb") as handle:
        return bytes(handle.read())


def preprocessed_key(image_id: object) -> str:
    return f"preprocessed/{image_id}.npy"


def save_array(key: str, array: np.ndarray) -> str:
    """Write an array, replacing any earlier one under the same key (a rerun of the stage)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    with reachable():
        # A filesystem would give a second save of the key a new name; deleting a key that is
        # not there is no error on either backend.
        default_storage.delete(key)
        return default_storage.save(key, ContentFile(buffer.getvalue()))


def load_array(key: str) -> np.ndarray:
    return np.load(io.BytesIO(read_bytes(key)), allow_pickle=False)


def delete(key: str) -> None:
    if key:
        with reachable():
            default_storage.delete(key)


class StorageUnavailable(ConnectionError):
    """The object store cannot be reached or answers 5xx: an outage. A ConnectionError, so the
    pipeline retries without counting an attempt; the API answers 503 storage_unavailable."""

    code = "storage_unavailable"
    detail = "The file storage is not answering; no batch was created. Retry shortly."


@contextmanager
def reachable() -> Iterator[None]:
    """Object-store outages as ConnectionError: botocore's connection and timeout errors are not
    OSErrors, and a 5xx (SeaweedFS or MinIO restarting, S3's SlowDown) says nothing about the
    file either."""
    try:
        yield
    except _outage_errors() as exc:
        raise StorageUnavailable(f"object storage unreachable: {exc}") from exc
    except _client_errors() as exc:
        if _status(exc) < 500:
            raise
        raise StorageUnavailable(f"object storage unavailable: {exc}") from exc


def _outage_errors() -> tuple[type[BaseException], ...]:
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # the filesystem backend only
        return ()
    return (BotoConnectionError, HTTPClientError)


def _client_errors() -> tuple[type[BaseException], ...]:
    try:
        from botocore.exceptions import ClientError
    except ImportError:
        return ()
    return (ClientError,)


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
