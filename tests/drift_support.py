"""Builders for the drift guard's tests: many model boxes of one class at chosen times (in bulk,
ten to an image), and open alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from inspection.models import Detection, DriftAlert, Facility, ModelVersion
from tests.analytics_support import Site

PER_IMAGE = 10


def boxes_at(
    site: Site, when: datetime, name: str, confidences: Sequence[float], camera: str = "dock-1"
) -> None:
    """Accepted images decided at `when`, holding `confidences` as boxes of class `name`."""
    class_id = site.model.class_names.index(name)
    for start in range(0, len(confidences), PER_IMAGE):
        image = site.image(when, camera=camera)
        Detection.objects.bulk_create(
            Detection(
                image=image,
                model_version=site.model,
                class_id=class_id,
                class_name=name,
                confidence=confidence,
                x1=10,
                y1=10,
                x2=60,
                y2=60,
                accepted=True,
            )  # fmt: skip
            for confidence in confidences[start : start + PER_IMAGE]
        )


def spread(low: float, high: float, count: int, step: int = 1) -> list[float]:
    """`count` confidences evenly over [low, high] (20 levels), visited `step` levels at a time:
    the same distribution in another order for another step."""
    return [round(low + (high - low) * ((i * step) % 20) / 19, 4) for i in range(count)]


def open_alert(
    facility: Facility, model: ModelVersion, name: str, camera: str | None = None
) -> DriftAlert:
    return DriftAlert.objects.create(
        facility=facility, model_version=model, class_name=name, camera=camera,
        kind=DriftAlert.Kind.DRIFT, statistic=0.8, cutoff=0.2,
    )  # fmt: skip
