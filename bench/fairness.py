"""Fairness between facilities: a one-image batch of a second facility submitted while the first
facility's large batch is in flight, against the same one-image batch on an idle system.

Idle: `latency`'s own measurement (wait for zero pending, then one image). Under load: the large
batch is posted, and once its first image has been decided (the pipeline is busy with it) each
one-image batch is posted and timed to its routing decision, one after the other; every sample
records whether the large batch was still unfinished when the small one was decided, so a sample
taken after the backlog drained is visible as such."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench import progress
from bench.pipeline import one_latency, post_batch
from bench.service import Service, Setup
from bench.stats import median, ratio


def fairness(
    service: Service,
    busy: Setup,
    small: Setup,
    paths: list[Path],
    large_count: int,
    samples: int,
    timeout: float,
) -> dict[str, Any]:
    idle = [one_latency(service, small, paths[i % len(paths)]) for i in range(samples)]
    large = [paths[i % len(paths)] for i in range(large_count)]
    started = time.time()
    large_batch = post_batch(service, busy, large)
    if not progress.wait_until(lambda: _decided(large_batch) > 0, timeout, 0.02, service.dead):
        raise RuntimeError("the large batch decided nothing")
    loaded = [
        _small_under_load(service, small, paths[i % len(paths)], large_batch)
        for i in range(samples)
    ]
    if not progress.wait_until(lambda: progress.batch_completed_at(large_batch), timeout, 0.1):
        raise RuntimeError(f"the large batch of {large_count} did not finish in {timeout}s")
    finished = progress.batch_completed_at(large_batch).timestamp()
    idle_ms = median([s["latency_ms"] for s in idle])
    loaded_ms = median([s["latency_ms"] for s in loaded])
    return {
        "large_batch_images": large_count,
        "large_batch_seconds": round(finished - started, 3),
        "idle": idle,
        "under_load": loaded,
        "idle_latency_ms_median": idle_ms,
        "loaded_latency_ms_median": loaded_ms,
        "loaded_vs_idle": ratio(loaded_ms, idle_ms),
        "samples_while_large_batch_unfinished": sum(s["large_batch_unfinished"] for s in loaded),
    }


def _small_under_load(
    service: Service, small: Setup, path: Path, large_batch: str
) -> dict[str, Any]:
    from inspection.models import Image

    started = time.time()
    batch_id = post_batch(service, small, [path])
    posted = time.time()
    decided = Image.objects.filter(batch_id=batch_id, finished_at__isnull=False)
    if not progress.wait_until(decided.exists, 120, 0.02, service.dead):
        raise RuntimeError("a one-image batch under load got no decision in 120 s")
    image = decided.values("finished_at", "timings").get()
    finished_at = image["finished_at"]
    assert finished_at is not None  # the query takes finished images only
    return {
        "latency_ms": round((finished_at.timestamp() - started) * 1000, 1),
        "post_ms": round((posted - started) * 1000, 1),
        # Each stage's wait for its claim and its work: where the time under load goes.
        "timings": image["timings"],
        "large_batch_unfinished": progress.batch_completed_at(large_batch) is None,
        "large_batch_decided": _decided(large_batch),
    }


def _decided(batch_id: str) -> int:
    from inspection.models import Image

    return Image.objects.filter(batch_id=batch_id, status__in=Image.TERMINAL).count()
