"""Stage 1: decode the original, measure quality, resize for the facility's active model (or
the model a replay asked for, for this image only: `Image.replay_model`)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from django.db import transaction

from inspection import storage
from inspection.inference.loader import DEFAULT_INPUT_SIZE
from inspection.models import Image, ModelVersion
from inspection.pipeline import claims
from inspection.pipeline.claims import PREPROCESS, Claim
from inspection.pipeline.enqueue import enqueue_infer
from inspection.pipeline.errors import StageFailed
from inspection.pipeline.logs import ImageLog
from inspection.pipeline.steps import claim_log, per_image, run_batch
from inspection.preprocessing import (
    ImageHeader,
    ImageRejected,
    PreprocessConfig,
    PreprocessResult,
    preprocess,
)


def preprocess_image(image_id: Any) -> int:
    """Preprocess the next batch; returns how many images went on to inference."""
    return run_batch(PREPROCESS, image_id, _preprocess_batch, error_reason="preprocess_error")


def _preprocess_batch(batch: list[Claim]) -> int:
    images = Image.objects.select_related("facility__active_model", "replay_model").in_bulk(
        [claim.image_id for claim in batch]
    )
    done = {}
    for claim in batch:
        image = images[claim.image_id]
        fields = per_image(claim, partial(_preprocess, claim, image), "preprocess_error")
        if fields is not None:
            done[claim.image_id] = fields
    ready = [claim for claim in batch if claim.image_id in done]
    with transaction.atomic():
        finished = claims.finish_many(ready, Image.Status.PREPROCESSED, done)
        # A message claims whatever is ready next, not the images it names: only how many
        # messages go out matters (one per batch of the images that reached inference).
        enqueue_infer([claim.image_id for claim in ready][:finished])
    return finished


def _preprocess(claim: Claim, image: Image) -> dict[str, Any]:
    """The image's preprocessed array, stored; returns the fields its row gets."""
    log = claim_log(claim)
    model = image.replay_model or image.facility.active_model
    started = time.perf_counter()
    # Decoded before the model is checked: a broken file gets its own reason whatever happens.
    size = model.input_size if model else DEFAULT_INPUT_SIZE
    original = read_original(image.storage_key)
    read = time.perf_counter()
    result = _decode(original, size, log)
    if model is None:
        raise StageFailed(
            "no_active_model",
            f"facility {image.facility.slug} has no active model",
            _header_fields(result),
        )
    decoded = time.perf_counter()
    key = storage.save_array(storage.preprocessed_key(image.id), result.array)
    timings = {
        **claim.timings,
        "preprocess_ms": _ms_since(started),
        # Where that time went: reading the original, decoding and resizing, storing the array.
        "read_ms": _ms_between(started, read),
        "decode_ms": _ms_between(read, decoded),
        "store_ms": _ms_since(decoded),
    }
    log.info("preprocessed %dx%d flags=%s", result.width, result.height, result.flags)
    return _result_fields(result, key, model, timings)


def read_original(key: str) -> bytes:
    try:
        return storage.read_bytes(key)
    except FileNotFoundError as exc:  # gone for good: not worth a retry
        raise StageFailed("original_missing", str(exc)) from exc


def _decode(data: bytes, target_size: int, log: ImageLog) -> PreprocessResult:
    try:
        return preprocess(data, target_size=target_size, config=PreprocessConfig.from_settings())
    except ImageRejected as rejected:
        read = _header_fields(rejected.header) if rejected.header else {}
        raise StageFailed(rejected.reason, rejected.detail, read) from rejected
    except Exception as exc:  # a decoder bug or an input nobody foresaw: this image only
        log.exception("preprocess raised unexpectedly")
        raise StageFailed("preprocess_error", repr(exc)) from exc


def _header_fields(read: PreprocessResult | ImageHeader) -> dict[str, Any]:
    return {
        "width": read.width,
        "height": read.height,
        "format": read.format,
        "multi_frame": read.multi_frame,
    }


def _result_fields(
    result: PreprocessResult, key: str, model: ModelVersion, timings: dict[str, Any]
) -> dict[str, Any]:
    return {
        **_header_fields(result),
        "quality": result.quality,
        "quality_flags": list(result.flags),
        "scale": result.scale,
        "preprocessed_key": key,
        "model_version_id": model.pk,
        "timings": timings,
    }


def _ms_since(started: float) -> float:
    return _ms_between(started, time.perf_counter())


def _ms_between(start: float, end: float) -> float:
    return round((end - start) * 1000, 1)
