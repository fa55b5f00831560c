"""Learning-loop tasks: the drift guard's periodic check (beat; one service call)."""

from __future__ import annotations

from celery import shared_task

from inspection import task_names
from inspection.learning import drift

CHECK_LIMITS = (600, 660)


@shared_task(
    name=task_names.CHECK_DRIFT,
    soft_time_limit=CHECK_LIMITS[0],
    time_limit=CHECK_LIMITS[1],
)
def check_drift() -> int:
    return drift.check_all()
