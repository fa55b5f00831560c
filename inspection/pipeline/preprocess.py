"""Stage 1: decode the original, measure quality, resize for the facility's active model."""

from __future__ import annotations

import time
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
from inspection.pipeline.steps import run_stage
from inspection.preprocessing import (
    ImageHeader,
    ImageRejected,
    PreprocessConfig,
    PreprocessResult,
    preprocess,
)


def preprocess_image(image_id: Any) -> bool:
    return run_stage(PREPROCESS, image_id, _preprocess, error_reason="preprocess_error")


def _preprocess(claim: Claim, log: ImageLog) -> None:
    image = Image.objects.select_related("facility__active_model").get(id=claim.image_id)
    model = image.facility.active_model
    started = time.perf_counter()
    # Decoded before the model is checked: a broken file gets its own reason whatever happens.
    size = model.input_size if model else DEFAULT_INPUT_SIZE
    result = _decode(read_original(image.storage_key), size, log)
    if model is None:
        raise StageFailed(
            "no_active_model",
            f"facility {image.facility.slug} has no active model",
            _header_fields(result),
        )
    key = storage.save_array(storage.preprocessed_key(image.id), result.array)
    timings = {**claim.timings, "preprocess_ms": _ms_since(started)}
    with transaction.atomic():
        if claims.finish(
            claim, Image.Status.PREPROCESSED, **_result_fields(result, key, model, timings)
        ):
            enqueue_infer([image.id])
            log.info("preprocessed %dx%d flags=%s", result.width, result.height, result.flags)


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
        "model_version": model,
        "timings": timings,
    }


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
