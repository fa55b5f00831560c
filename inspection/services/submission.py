"""Ingest: check a submission against the limits, store its files content-addressed, create the
batch and its images, and publish preprocessing after the commit. No image is decoded here: only
declared header sizes are read, so a file that is not an image is accepted and fails in the
pipeline with its own reason, where the integrator sees it per image.

Only request-level limits (number of files, bytes in all) and a facility without a model refuse
the whole request. A file over a per-file limit (bytes, pixels, smallest side) is refused on its
own: it becomes a `failed` image with that reason (nothing of it is stored) and the rest of the
batch goes on."""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connection, transaction

from inspection import selectors
from inspection.limits import FILE_TOO_LARGE, UPLOAD_REJECT_REASONS
from inspection.models import ApiKey, Batch, Facility, Image
from inspection.observability import hooks
from inspection.pipeline import backpressure
from inspection.pipeline.completion import complete_batch_if_done
from inspection.pipeline.enqueue import enqueue_preprocess
from inspection.preprocessing import ImageHeader, ImageRejected, PreprocessConfig, inspect_header
from inspection.services import DomainError
from inspection.services.facilities import require_model
from inspection.storage import content_hash, store_original
from inspection.webhooks.targets import InvalidWebhookUrl, validate_webhook_url

MAX_NAME_LENGTH = 200
# The advisory lock that admits submissions one at a time (any constant unique to this use).
ADMISSION_LOCK_KEY = 0x1A5E_ADD1
# How long an overloaded API asks clients to wait: about the time a worker pool needs to drain
# a few batches.
OVERLOAD_RETRY_AFTER_SECONDS = 30


class Limit(StrEnum):
    """Which request-level limit a submission broke; the API picks its status code from this."""

    NO_FILES = "no_files"
    TOO_MANY_FILES = "too_many_files"
    BATCH_TOO_LARGE = "batch_too_large"


@dataclass(frozen=True)
class Rejection:
    """A file refused on its own at upload: `index` is its position in the request (and its
    image's `position` in the batch)."""

    index: int
    name: str
    reason: str
    detail: str


class LimitsExceeded(DomainError):
    code = "limits_exceeded"

    def __init__(self, limit: Limit, detail: str) -> None:
        super().__init__(detail)
        self.limit = limit


class Overloaded(DomainError):
    code = "overloaded"

    def __init__(self, detail: str, retry_after: int = OVERLOAD_RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class SubmissionRequest:
    facility: Facility
    files: Sequence[File]
    camera: str = ""
    idempotency_key: str | None = None
    api_key: ApiKey | None = None
    webhook_url: str = ""


@dataclass(frozen=True)
class Submission:
    batch: Batch
    created: bool  # False: an idempotent repeat answered with the batch created earlier


@dataclass(frozen=True)
class _CheckedFile:
    """One file as checked at upload; `rejection` set: refused on its own (not stored), with
    what its header said when it was read."""

    name: str
    size: int
    sha256: str
    rejection: Rejection | None = None
    header: ImageHeader | None = None


def submit_batch(request: SubmissionRequest) -> Submission:
    """Create a batch from uploaded files, or return the earlier batch for a repeated
    idempotency key. Raises NoActiveModel, LimitsExceeded, Overloaded, IdempotencyKeyReused or
    InvalidWebhookUrl; nothing is stored when it raises."""
    require_model(request.facility)
    check_webhook(request)
    check_request_limits(request.files)
    checked = check_files(request.files)
    fingerprint = request_fingerprint(request.facility, request.camera, checked)
    earlier = _earlier_batch(request)
    if earlier is not None:
        return _replay(earlier, fingerprint)
    incoming = sum(item.rejection is None for item in checked)
    check_capacity(incoming)  # early: no file is stored for a request that would be refused
    keys = [
        "" if item.rejection else store_original(read_all(upload), item.sha256)[0]
        for upload, item in zip(request.files, checked, strict=True)
    ]
    try:
        with transaction.atomic():
            # Again under a lock held to the commit: concurrent submissions are admitted one at
            # a time, so together they cannot overshoot MAX_PENDING_IMAGES.
            admission_lock()
            check_capacity(incoming)
            batch = _create_batch(request, fingerprint, checked, keys)
    except IntegrityError:
        # A concurrent request with the same idempotency key committed first: answer with it.
        earlier = _earlier_batch(request)
        if earlier is None:
            raise
        return _replay(earlier, fingerprint)
    return Submission(batch, created=True)


def check_request_limits(files: Sequence[File]) -> None:
    if not files:
        raise LimitsExceeded(Limit.NO_FILES, "No files were sent in the field 'images'.")
    if len(files) > settings.MAX_FILES_PER_BATCH:
        raise LimitsExceeded(
            Limit.TOO_MANY_FILES,
            f"{len(files)} files; at most {settings.MAX_FILES_PER_BATCH} per batch.",
        )
    total = sum(upload.size or 0 for upload in files)
    if total > settings.MAX_BATCH_BYTES:
        raise LimitsExceeded(
            Limit.BATCH_TOO_LARGE,
            f"{total} bytes in all; at most {settings.MAX_BATCH_BYTES} per batch.",
        )


def check_webhook(request: SubmissionRequest) -> None:
    """A batch's own webhook URL must be valid, and its key must be able to sign."""
    if not request.webhook_url:
        return
    validate_webhook_url(request.webhook_url)
    if request.api_key is None or not request.api_key.webhook_secret:
        raise InvalidWebhookUrl("This API key has no webhook secret; create a new key.")


def check_files(files: Sequence[File]) -> list[_CheckedFile]:
    """Check and hash every file; one over a per-file limit comes back with its rejection.

    The web process never spends long on a request's files, whatever their headers declare
    (frame counts, millions of chunks or markers): only the first UPLOAD_HEADER_BYTES of a file
    are parsed, and once the request has spent UPLOAD_CHECK_SECONDS doing so the remaining files
    are left to the pipeline, which applies the same limits to each image."""
    config = PreprocessConfig.from_settings()
    deadline = time.monotonic() + settings.UPLOAD_CHECK_SECONDS
    return [_check_file(index, upload, config, deadline) for index, upload in enumerate(files)]


def _check_file(
    index: int, upload: File, config: PreprocessConfig, deadline: float
) -> _CheckedFile:
    name, size = sanitize_filename(upload.name), int(upload.size or 0)
    if size > settings.MAX_UPLOAD_BYTES:
        detail = f"{size} bytes; at most {settings.MAX_UPLOAD_BYTES} per file."
        return _CheckedFile(name, size, "", Rejection(index, name, FILE_TOO_LARGE, detail))
    data = read_all(upload)
    item = _CheckedFile(name, size, content_hash(data))
    if time.monotonic() >= deadline:
        return item
    try:
        inspect_header(data[: settings.UPLOAD_HEADER_BYTES], config)
    except ImageRejected as rejected:
        # Pixels and sides come from a header that was read: a refusal for them stands even
        # on a prefix. Any other reason (a prefix that ends before the header does, a corrupt
        # file) is the pipeline's to find, per image.
        if rejected.reason in UPLOAD_REJECT_REASONS:
            refusal = Rejection(index, name, rejected.reason, rejected.detail)
            return replace(item, rejection=refusal, header=rejected.header)
    return item


def admission_lock() -> None:
    """PostgreSQL: a transaction-scoped advisory lock. SQLite's IMMEDIATE transactions already
    admit one writer at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADMISSION_LOCK_KEY])


def check_capacity(incoming: int) -> None:
    """Refuse work the system cannot finish soon: the bound holds after accepting the batch."""
    pending = selectors.pending_image_count()
    if pending + incoming > settings.MAX_PENDING_IMAGES:
        raise Overloaded(f"{pending} images are waiting to be processed; retry later.")


def request_fingerprint(facility: Facility, camera: str, files: Sequence[_CheckedFile]) -> str:
    """What makes two submissions "the same request" for an idempotency key."""
    parts = [facility.slug, camera, *(item.sha256 for item in files)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def sanitize_filename(name: str | None) -> str:
    """The client's name for display only: basename, no control or format characters (which can
    disguise an extension), capped in length with the extension kept."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # One spelling per name: macOS sends "é" decomposed (NFD), most others composed (NFC).
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C")).strip()
    if base in {".", ".."}:
        return ""
    if len(base) <= MAX_NAME_LENGTH:
        return base
    stem, dot, extension = base.rpartition(".")
    if dot and stem and len(extension) <= 10:
        return f"{stem[: MAX_NAME_LENGTH - len(extension) - 1]}.{extension}"
    return base[:MAX_NAME_LENGTH]


def read_all(upload: File) -> bytes:
    return b"".join(upload.chunks())


def _earlier_batch(request: SubmissionRequest) -> Batch | None:
    if not request.idempotency_key:
        return None
    return Batch.objects.filter(
        facility=request.facility, idempotency_key=request.idempotency_key
    ).first()


def _replay(batch: Batch, fingerprint: str) -> Submission:
    if batch.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different submission."
        )
    return Submission(batch, created=False)


def _create_batch(
    request: SubmissionRequest, fingerprint: str, files: Sequence[_CheckedFile], keys: list[str]
) -> Batch:
    batch = Batch.objects.create(
        facility=request.facility,
        api_key=request.api_key,
        idempotency_key=request.idempotency_key or None,
        request_fingerprint=fingerprint,
        camera=request.camera,
        webhook_url=request.webhook_url,
        total=len(files),
    )
    images = Image.objects.bulk_create(
        _image_row(batch, position, item, key)
        for position, (item, key) in enumerate(zip(files, keys, strict=True))
    )
    queued = [(batch.facility_id, i.id) for i in images if i.status == Image.Status.QUEUED]
    enqueue_preprocess(backpressure.admit(queued))
    refused = [image for image in images if image.status == Image.Status.FAILED]
    if refused:
        transaction.on_commit(partial(_announce_refused, batch.pk, refused))
    return batch


def _image_row(batch: Batch, position: int, item: _CheckedFile, storage_key: str) -> Image:
    row = Image(
        batch=batch,
        facility_id=batch.facility_id,
        position=position,
        original_name=item.name,
        content_hash=item.sha256,
        storage_key=storage_key,
        size_bytes=item.size,
        status=Image.Status.QUEUED,
    )
    if item.rejection is not None:
        row.status, row.finished_at = Image.Status.FAILED, row.created_at
        row.reason, row.reason_detail = item.rejection.reason, item.rejection.detail[:500]
    if item.header is not None:
        row.width, row.height, row.format = (
            item.header.width,
            item.header.height,
            item.header.format,
        )
    return row


def _announce_refused(batch_id: Any, refused: list[Image]) -> None:
    """Count the refused files like any failed image; a batch of refused files only is
    complete at once."""
    for image in refused:
        hooks.image_failed(image.pk, image.reason)
    complete_batch_if_done(batch_id)
