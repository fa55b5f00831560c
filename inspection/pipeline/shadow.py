"""Shadow models in the infer stage: after the active model's boxes are stored (and sent on to
validation), each facility's shadow model runs on the same preprocessed arrays, batched per
shadow, loaded once per process like the active one (runtime.get_model). Its boxes are Detection
rows with `source=shadow`, and a ShadowRun row says it looked at the image (with no box, too).

Nothing here can change an image: the image is `inferred` already, the rows are apart from the
model's, and any failure (load, predict, store) is logged and counted, never raised."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

import numpy as np
from django.db import transaction

from inspection.inference import runtime
from inspection.inference.loaded import LoadedModel, Prediction
from inspection.models import Detection, Facility, Image, ModelVersion, ShadowRun
from inspection.observability import hooks
from inspection.pipeline import predicted

logger = logging.getLogger("inspection.pipeline")

Item = tuple[Image, np.ndarray]


def run_shadows(items: list[Item], active: ModelVersion, conf: float) -> float:
    """Run every shadow the items' facilities have (other than `active`) at the active pass's
    confidence cut-off; returns the milliseconds spent (0 with no shadow)."""
    if not items:
        return 0.0
    try:
        groups = _by_shadow(items, active)
    except Exception:
        logger.exception("shadow models: could not read the facilities' shadows")
        hooks.shadow_failed("", "")
        return 0.0
    started = time.perf_counter()
    for shadow, group in groups:
        _run_one(shadow, group, conf)
    return (time.perf_counter() - started) * 1000


def _by_shadow(items: list[Item], active: ModelVersion) -> list[tuple[ModelVersion, list[Item]]]:
    facility_ids = {image.facility_id for image, _ in items}
    shadows = dict(
        Facility.objects.filter(pk__in=facility_ids, shadow_model__isnull=False)
        .exclude(shadow_model=active)
        .values_list("pk", "shadow_model_id")
    )
    if not shadows:
        return []
    models = ModelVersion.objects.in_bulk(set(shadows.values()))
    groups: dict[int, list[Item]] = defaultdict(list)
    for image, array in items:
        if image.facility_id in shadows:
            groups[shadows[image.facility_id]].append((image, array))
    return [(models[model_id], group) for model_id, group in groups.items()]


def _run_one(shadow: ModelVersion, items: list[Item], conf: float) -> None:
    try:
        loaded = runtime.get_model(shadow)
        started = time.perf_counter()
        predictions = loaded.predict([array for _, array in items], conf=conf)
        seconds = (time.perf_counter() - started) / len(items)
        _store(shadow, items, predictions, loaded, seconds)
    except Exception:
        logger.exception("shadow model %s failed on a batch of %d", shadow, len(items))
        for facility_id in {image.facility_id for image, _ in items}:
            hooks.shadow_failed(hooks.facility_slug(facility_id), str(shadow))
        return
    for (image, _), prediction in zip(items, predictions, strict=True):
        hooks.shadow_inferred(image.facility_id, str(shadow), seconds, len(prediction.confidences))
    logger.info("shadow %s inferred a batch of %d", shadow, len(items))


def _store(
    shadow: ModelVersion,
    items: list[Item],
    predictions: list[Prediction],
    loaded: LoadedModel,
    seconds: float,
) -> None:
    """Replace this shadow's rows of the images (a repeated message leaves one set)."""
    ids = [image.pk for image, _ in items]
    pairs = list(zip(items, predictions, strict=True))
    rows = [
        row
        for (image, _), prediction in pairs
        for row in predicted.detections(image, prediction, loaded, Detection.Source.SHADOW)
    ]
    runs = [_run_row(image, shadow, prediction, seconds) for (image, _), prediction in pairs]
    with transaction.atomic():
        mine: Any = {"image_id__in": ids, "model_version": shadow}
        Detection.objects.filter(source=Detection.Source.SHADOW, **mine).delete()
        ShadowRun.objects.filter(**mine).delete()
        Detection.objects.bulk_create(rows)
        ShadowRun.objects.bulk_create(runs)


def _run_row(
    image: Image, shadow: ModelVersion, prediction: Prediction, seconds: float
) -> ShadowRun:
    return ShadowRun(
        image=image,
        model_version=shadow,
        boxes=len(prediction.confidences),
        inference_ms=round(seconds * 1000, 1),
    )
