"""Waiting on the pipeline through the database the workers write (no polling load on the web)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def pending_images() -> int:
    from inspection.models import Image

    return Image.objects.exclude(status__in=Image.TERMINAL).count()


def batch_completed_at(batch_id: Any) -> Any:
    from inspection.models import Batch

    return Batch.objects.filter(pk=batch_id).values_list("completed_at", flat=True).first()


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    interval: float = 0.05,
    dead: Callable[[], list[str]] | None = None,
) -> bool:
    """True once predicate() holds; False on timeout; raises when a service process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if dead is not None and (gone := dead()):
            raise RuntimeError(f"service process(es) exited: {gone}")
        time.sleep(interval)
    return predicate()
