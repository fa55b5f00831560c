"""Review tasks: building a large export in the background, and the sweep that re-sends or ends
export jobs whose message or worker was lost (an id in, or nothing; one service call each)."""

from __future__ import annotations

from celery import shared_task

from inspection import task_names
from inspection.review import export_sweep, exports

SWEEP_LIMITS = (60, 120)


@shared_task(
    name=task_names.BUILD_EXPORT,
    soft_time_limit=exports.BUILD_LIMITS[0],
    time_limit=exports.BUILD_LIMITS[1],
)
def build_export(export_id: str) -> None:
    exports.build_export(export_id)


@shared_task(
    name=task_names.SWEEP_EXPORTS,
    soft_time_limit=SWEEP_LIMITS[0],
    time_limit=SWEEP_LIMITS[1],
)
def sweep_exports() -> None:
    export_sweep.sweep_exports()
