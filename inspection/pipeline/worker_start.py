"""What a pipeline worker does when it starts: name its processes as claim holders, free at once
what its previous incarnation still held (a worker restarted after a crash does not wait for
those leases to run out), and keep its pool processes' leases alive while they work."""

from __future__ import annotations

import logging
import os
from typing import Any

from django.db import connections

from inspection.observability import process_ready
from inspection.pipeline import claims, lease_keeper

logger = logging.getLogger(__name__)


def on_worker_start(worker: Any) -> None:
    """The worker's main process, before its pool forks."""
    process_ready.prepare()
    node = str(worker.hostname)
    os.environ[claims.NODE_ENV] = node
    try:
        freed = claims.release_previous_incarnation(node)
    except Exception as exc:  # the database may be away: the leases run out instead
        logger.warning("could not free what %s held before it restarted: %r", node, exc)
        freed = []
    finally:
        connections.close_all()  # never hand a connection to the forked pool processes
    if freed:
        logger.info("freed %d image(s) %s held before it restarted", len(freed), node)


def on_process_start() -> None:
    """Each pool process, first."""
    lease_keeper.start()


def on_process_ready() -> None:
    """Each pool process, last: it can take tasks (its heartbeat says so from now on)."""
    process_ready.mark_ready()
