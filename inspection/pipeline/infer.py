"""Stage 2: run the model once per batch of ready images and store boxes in original pixels."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

from django.db import transaction

from inspection import storage
from inspection.inference import runtime
from inspection.inference.runtime import LoadedModel, Prediction
from inspection.models import Detection, Image
from inspection.observability import hooks
from inspection.pipeline import batching, claims, lease_keeper
from inspection.pipeline.batching import claim_batch
from inspection.pipeline.claims import INFER, Claim
from inspection.pipeline.completion import fail_claimed
from inspection.pipeline.enqueue import enqueue_infer, enqueue_preprocess, enqueue_validate
from inspection.pipeline.errors import TRANSIENT_ERRORS
from inspection.pipeline.logs import image_log
from inspection.pipeline.policies import lowest_min_confidence
from inspection.pipeline.steps import not_the_images_fault, release_quietly
from inspection.preprocessing import boxes_to_original

logger = logging.getLogger("inspection.pipeline")


def infer_image(image_id: Any) -> int:
    """Infer a batch of ready images (the task's `image_id` among them when it is its turn);
    returns how many were inferred (0: nothing was waiting)."""
    claimed = claim_batch()
    for claim in claimed:
        hooks.claimed(claim)
    batch = [claim for claim in claimed if not _capped(claim)]
    if not batch:
        return 0
    try:
        with lease_keeper.holding(batch):
            return sum(_infer_group(group) for group in _by_model(batch).values())
    except TRANSIENT_ERRORS as exc:
        for claim in batch:
            release_quietly(claim, _log(claim), refund=not_the_images_fault(exc))
        raise
    except Exception as exc:
        _isolate(batch, exc)
        return 0


def _capped(claim: Claim) -> bool:
    if claims.over_attempt_cap(claim):
        fail_claimed(claim, "attempts_exhausted", f"{claim.attempt - 1} attempts at {INFER.name}")
        return True
    return False


def _by_model(batch: list[Claim]) -> dict[Any, list[tuple[Claim, Image]]]:
    images = Image.objects.select_related("model_version").in_bulk([c.image_id for c in batch])
    groups: dict[Any, list[tuple[Claim, Image]]] = defaultdict(list)
    for claim in batch:
        groups[images[claim.image_id].model_version_id].append((claim, images[claim.image_id]))
    return groups


def _infer_group(group: list[tuple[Claim, Image]]) -> int:
    ready = [
        (claim, image, array)
        for claim, image in group
        if (array := _array_or_redo(claim, image)) is not None
    ]
    if not ready:
        return 0
    model_version = ready[0][1].model_version
    loaded = runtime.get_model(model_version)
    conf = lowest_min_confidence({image.facility_id for _, image, _ in ready}, model_version.pk)
    started = time.perf_counter()
    predictions = loaded.predict([array for _, _, array in ready], conf=conf)
    hooks.inference_batch(len(ready), time.perf_counter() - started)
    per_image_ms = round((time.perf_counter() - started) * 1000 / len(ready), 1)
    batching.observe(per_image_ms)
    for (claim, image, _), prediction in zip(ready, predictions, strict=True):
        _store(
            claim,
            image,
            prediction,
            loaded,
            {"inference_ms": per_image_ms, "batch_size": len(ready)},
        )
    logger.info(
        "inferred a batch of %d with %s in %.0f ms",
        len(ready),
        model_version,
        per_image_ms * len(ready),
    )
    return len(ready)


def _array_or_redo(claim: Claim, image: Image) -> Any:
    """The preprocessed array; when it is gone (or the image lost its model), preprocess again."""
    try:
        if image.model_version_id is None:
            raise FileNotFoundError("no model version chosen")
        return storage.load_array(image.preprocessed_key)
    except FileNotFoundError:
        with transaction.atomic():
            if claims.finish(claim, Image.Status.QUEUED):
                enqueue_preprocess([image.id])
        _log(claim).warning("preprocessed array missing: back to preprocessing")
        return None


def _store(
    claim: Claim, image: Image, prediction: Prediction, loaded: LoadedModel, timings: dict[str, Any]
) -> None:
    """Replace any detections of an earlier attempt, then finish; all or nothing."""
    timings = {**claim.timings, **timings, "queue_wait_ms": _wait_ms(claim)}
    with transaction.atomic():
        Detection.objects.filter(image_id=image.id).delete()
        Detection.objects.bulk_create(_detections(image, prediction, loaded))
        if not claims.finish(claim, Image.Status.INFERRED, timings=timings):
            transaction.set_rollback(True)
            return
        enqueue_validate([image.id])
    _log(claim).info("inferred: %d boxes", len(prediction.confidences))


def _detections(image: Image, prediction: Prediction, loaded: LoadedModel) -> list[Detection]:
    boxes = boxes_to_original(prediction.boxes, image.scale, image.width, image.height)
    names = loaded.class_names
    return [
        Detection(
            image=image,
            model_version_id=loaded.model_version_id,
            class_id=int(class_id),
            class_name=names[class_id] if 0 <= class_id < len(names) else str(class_id),
            confidence=float(confidence),
            x1=float(box[0]),
            y1=float(box[1]),
            x2=float(box[2]),
            y2=float(box[3]),
        )
        for box, confidence, class_id in zip(
            boxes, prediction.confidences, prediction.class_ids, strict=True
        )
    ]


def _isolate(batch: list[Claim], exc: Exception) -> None:
    """A batch that blew up: alone, the image fails; together, every image goes back with its
    attempt counted, so each is retried alone and only the poison one fails."""
    logger.exception("inference failed for a batch of %d", len(batch))
    if len(batch) == 1:
        fail_claimed(batch[0], "inference_error", repr(exc))
        return
    for claim in batch:
        release_quietly(claim, _log(claim), refund=False)
    enqueue_infer([claim.image_id for claim in batch])


def _wait_ms(claim: Claim) -> float:
    return round((claim.claimed_at - claim.waiting_since).total_seconds() * 1000, 1)


def _log(claim: Claim) -> Any:
    return image_log(logger, INFER.task, claim.image_id, claim.batch_id)
