"""Helpers shared by the shadow-model tests: a candidate model (registered by hand, never
loaded), shadow runs with hand-made boxes, and facility admins."""

from __future__ import annotations

from collections.abc import Sequence

from inspection.models import Detection, Facility, Image, ModelVersion, ShadowRun, ThresholdSource
from tests.review_support import CLASSES

# (class_id, confidence, (x1, y1, x2, y2)) in original pixels.
ShadowBox = tuple[int, float, Sequence[float]]


def candidate_model(version: str = "2", calibrated: bool = True) -> ModelVersion:
    """A second version of the parcel model, calibrated at registration unless told."""
    source = ThresholdSource.CALIBRATED if calibrated else ThresholdSource.REVIEW_ALL
    return ModelVersion.objects.get_or_create(
        name="parcels",
        version=version,
        defaults={
            "file_path": f"/models/parcels-{version}.pt",
            "class_names": CLASSES,
            "threshold_source": source,
            "default_threshold": 0.55,
            "class_thresholds": {"damage": 0.7} if calibrated else {},
        },
    )[0]


def add_shadow_boxes(
    image: Image, model: ModelVersion, boxes: Sequence[ShadowBox], run: bool = True
) -> None:
    """The shadow ran on the image and found `boxes` (`run=False`: add them, no ShadowRun)."""
    for class_id, confidence, (x1, y1, x2, y2) in boxes:
        Detection.objects.create(
            image=image,
            source=Detection.Source.SHADOW,
            model_version=model,
            class_id=class_id,
            class_name=CLASSES[class_id],
            confidence=confidence,
            x1=x1,
            y1=y1,
            x2=x2,
            y2=y2,
        )
    if run:
        ShadowRun.objects.create(image=image, model_version=model, boxes=len(boxes), inference_ms=5)


def with_models(facility: Facility, active: ModelVersion, shadow: ModelVersion | None) -> Facility:
    Facility.objects.filter(pk=facility.pk).update(active_model=active, shadow_model=shadow)
    return Facility.objects.select_related("active_model", "shadow_model").get(pk=facility.pk)
