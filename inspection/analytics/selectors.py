"""Reads for the analytics page's filters."""

from __future__ import annotations

from inspection.models import Batch, Facility

MAX_CAMERAS = 200


def camera_names(facilities: list[Facility]) -> list[str]:
    """The cameras the facilities' batches named (the camera filter's choices)."""
    names = (
        Batch.objects.filter(facility__in=facilities)
        .exclude(camera="")
        .values_list("camera", flat=True)
        .order_by("camera")
        .distinct()
    )
    return list(names[:MAX_CAMERAS])
