"""Review tasks: building a large export in the background (an id in, one service call)."""

from __future__ import annotations

from celery import shared_task

from inspection.review import exports

# Seconds: (soft, hard). Decoding and re-encoding thousands of full-size images takes a while.
EXPORT_LIMITS = (1800, 1900)


@shared_task(
    name=exports.BUILD_EXPORT_TASK,
    soft_time_limit=EXPORT_LIMITS[0],
    time_limit=EXPORT_LIMITS[1],
)
def build_export(export_id: str) -> None:
    exports.build_export(export_id)
