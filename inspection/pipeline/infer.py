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
from inspection.pipeline import batching, claims, predicted, shadow
from inspection.pipeline.claims import INFER, Claim
from inspection.pipeline.enqueue import enqueue_preprocess, enqueue_validate
from inspection.pipeline.policies import lowest_min_confidence
from inspection.pipeline.steps import claim_log, run_claims

logger = logging.getLogger("inspection.pipeline")


def infer_image(image_id: Any) -> int:
    """Infer a batch of ready images (the task's `image_id` among them when it is its turn);
    returns how many were inferred (0: nothing was waiting)."""
    claimed = batching.claim_inference_batch()
    return run_claims(INFER, image_id, claimed, _infer_batch, "inference_error")


def _infer_batch(batch: list[Claim]) -> int:
    return sum(_infer_group(group) for group in _by_model(batch).values())


def _by_model(batch: list[Claim]) -> dict[Any, list[tuple[Claim, Image]]]:
    images = Image.objects.select_related("model_version").in_bulk([c.image_id for c in batch])
    groups: dict[Any, list[tuple[Claim, Image]]] = defaultdict(list)
    for claim in batch:
        groups[images[claim.image_id].model_version_id].append((claim, images[claim.image_id]))
    return groups


def _infer_group(group: list[tuple[Claim, Image]]) -> int:
    loading = time.perf_counter()
    ready = [
        (claim, image, array)
        for claim, image in group
        if (array := _array_or_redo(claim, image)) is not None
    ]
    if not ready:
        return 0
    load_ms = round((time.perf_counter() - loading) * 1000 / len(group), 1)
    model_version = ready[0][1].model_version
    assert model_version is not None  # _array_or_redo sent images without one back
    loaded = runtime.get_model(model_version)
    conf = lowest_min_confidence({image.facility_id for _, image, _ in ready}, model_version.pk)
    started = time.perf_counter()
    predictions = loaded.predict([array for _, _, array in ready], conf=conf)
    hooks.inference_batch(len(ready))
    per_image_ms = round((time.perf_counter() - started) * 1000 / len(ready), 1)
    timings = {
        "inference_ms": per_image_ms,
        "batch_size": len(ready),
        "array_load_ms": load_ms,
        "backend": loaded.backend,  # torch, openvino, onnxruntime (the results show it)
    }
    held = _store(
        [
            (claim, image, prediction)
            for (claim, image, _), prediction in zip(ready, predictions, strict=True)
        ],
        loaded,
        timings,
    )
    logger.info(
        "inferred a batch of %d with %s in %.0f ms",
        len(ready),
        model_version,
        per_image_ms * len(ready),
    )
    # After the results are stored and on their way to validation: a shadow never delays or
    # changes routing, and never fails an image.
    shadow_ms = shadow.run_shadows(
        [(image, array) for _, image, array in ready if image.pk in held], model_version, conf
    )
    # The next batch's size budget counts the shadow's time too: it runs in the same task.
    batching.observe(per_image_ms + shadow_ms / len(ready))
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
        claim_log(claim).warning("preprocessed array missing: back to preprocessing")
        return None


def _store(
    results: list[tuple[Claim, Image, Prediction]], loaded: LoadedModel, timings: dict[str, Any]
) -> set[Any]:
    """For the images whose claims still hold (returned): replace any detections of an earlier
    attempt, then finish, in one transaction; one message for validation."""
    with transaction.atomic():
        held = {claim.image_id for claim in claims.still_held([claim for claim, _, _ in results])}
        stored = [result for result in results if result[0].image_id in held]
        # A shadow's rows of an earlier attempt stay: its own pass replaces them (shadow.py).
        Detection.objects.filter(image_id__in=held, source=Detection.Source.MODEL).delete()
        Detection.objects.bulk_create(
            [
                row
                for _, image, prediction in stored
                for row in predicted.detections(image, prediction, loaded)
            ]
        )
        # queue_wait_ms (what the analytics read) is the claim's infer_wait_ms under its
        # older name.
        per_image = {
            claim.image_id: {
                "timings": {
                    **claim.timings,
                    **timings,
                    "queue_wait_ms": claim.timings[f"{INFER.name}_wait_ms"],
                }
            }
            for claim, _, _ in stored
        }
        claims.finish_many([claim for claim, _, _ in stored], Image.Status.INFERRED, per_image)
        enqueue_validate(held)
    for claim, _, prediction in stored:
        claim_log(claim).info("inferred: %d boxes", len(prediction.confidences))
    return held
