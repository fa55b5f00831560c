"""Reading the metrics back out: one registry per exporter, multiprocess-aware.

With PROMETHEUS_MULTIPROC_DIR set, every process of a host or container (gunicorn workers, a
Celery pool) writes its own files there, and the one exporter of that host or container merges
them. Each exporter has its own directory, so no number is served by two exporters.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV, "").strip()
    return Path(value) if value else None


def clear_stale_files(keep_pid: int | None = None) -> int:
    """Remove what processes of an earlier run left behind; this process's own files stay
    (it already holds them open). Returns how many files went."""
    folder = multiprocess_dir()
    if folder is None:
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    removed = 0
    for path in folder.glob("*.db"):
        if keep_pid is not None and path.stem.endswith(f"_{keep_pid}"):
            continue
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def process_exited(pid: int) -> None:
    """Drop a dead process's live gauges; its counters stay, so totals never go backwards."""
    if multiprocess_dir() is not None:
        mark_process_dead(pid)


class _ThisProcess(Collector):
    """The default registry, for a single-process server (runserver, tests, solo pools)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def build_registry(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir() is not None:
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in extra:
        registry.register(collector)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def start_exporter(port: int, addr: str, extra: Iterable[Collector] = ()) -> None:
    """Serve this host's (or container's) metrics over HTTP from a daemon thread."""
    if multiprocess_dir() is None:
        logger.warning("%s is not set: the exporter sees this process only", MULTIPROC_ENV)
    start_http_server(port, addr=addr, registry=build_registry(extra))
    logger.info("metrics exporter listening on %s:%d", addr, port)
