"""Inference worker memory over many images, and model loads in steady state.

The images are submitted in chunks, at most two chunks in flight, while a thread samples the
RSS of the inference pool process (the one holding the model). Growth compares the median RSS
of the last tenth of the run with that of the first tenth after the first chunk (the warm-up:
allocator pools and tensors of every batch shape the run will see)."""

from __future__ import annotations

import threading
import time
import uuid
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import psutil

from bench import progress
from bench.client import files_field, submit
from bench.service import Service, Setup, rss_bytes
from bench.stats import median, rate

SAMPLE_SECONDS = 0.5


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.samples.append((time.monotonic(), rss_bytes(self.pid)))
            except psutil.NoSuchProcess:
                return
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        """Stop, with one last sample: a short run (a fast model, a few images) may otherwise
        end between two samples and leave nothing after its warm-up."""
        self._stop_event.set()
        self.join(5)
        try:
            self.samples.append((time.monotonic(), rss_bytes(self.pid)))
        except psutil.NoSuchProcess:
            pass


def memory(
    service: Service, setup: Setup, paths: list[Path], count: int, chunk: int, timeout: float
) -> dict[str, Any]:
    loads_before = service.model_loads()
    pid = service.inference_pool_pid()
    sampler = RssSampler(pid)
    sampler.start()
    started = time.monotonic()
    try:
        warm_at = _submit_all(service, setup, list(islice(cycle(paths), count)), chunk, timeout)
    finally:
        sampler.stop()
    seconds = time.monotonic() - started
    return {
        "images": count,
        "chunk": chunk,
        "seconds": round(seconds, 1),
        "images_per_s": rate(count, seconds),
        "pool_pid": pid,
        "pool_pid_after": service.inference_pool_pid(),
        **rss_summary(sampler.samples, warm_at),
        **load_summary(loads_before, service.model_loads()),
    }


def _submit_all(
    service: Service, setup: Setup, paths: list[Path], chunk: int, timeout: float
) -> float:
    """Submit chunk by chunk; returns when the first chunk was done (the warm-up point)."""
    deadline = time.monotonic() + timeout
    warm_at = 0.0
    for start in range(0, len(paths), chunk):
        _wait_pending(service, chunk, deadline)
        if start == chunk:
            warm_at = time.monotonic()
        files = files_field(paths[start : start + chunk])
        answer = submit(
            service.base_url, setup.api_key, setup.facility_slug, files, str(uuid.uuid4())
        )
        if answer.status != 202:
            raise RuntimeError(f"submission answered {answer.status}: {answer.body}")
    _wait_pending(service, 0, deadline)
    return warm_at


def _wait_pending(service: Service, at_most: int, deadline: float) -> None:
    left = max(1.0, deadline - time.monotonic())
    if not progress.wait_until(
        lambda: progress.pending_images() <= at_most, left, 0.2, service.dead
    ):
        raise RuntimeError("the memory run did not drain before its timeout")


def rss_summary(samples: list[tuple[float, int]], warm_at: float) -> dict[str, Any]:
    warm = [rss for at, rss in samples if at >= warm_at]
    tenth = max(1, len(warm) // 10)
    baseline, final = median(warm[:tenth]), median(warm[-tenth:])
    mib = 2**20
    return {
        "rss_samples": len(samples),
        "rss_mib_first_sample": round(samples[0][1] / mib, 1) if samples else None,
        "rss_mib_baseline": round(baseline / mib, 1) if baseline else None,
        "rss_mib_final": round(final / mib, 1) if final else None,
        "rss_mib_peak": round(max(rss for _, rss in samples) / mib, 1) if samples else None,
        "rss_growth": round(final / baseline - 1, 4) if baseline and final else None,
        "rss_mib_timeline": _timeline(samples),
    }


def _timeline(samples: list[tuple[float, int]], points: int = 40) -> list[list[float]]:
    """Every n-th sample as [seconds since start, MiB]: enough to draw the curve."""
    if not samples:
        return []
    step = max(1, len(samples) // points)
    first = samples[0][0]
    return [[round(at - first, 1), round(rss / 2**20, 1)] for at, rss in samples[::step]]


def load_summary(before: list[dict[str, int]], after: list[dict[str, int]]) -> dict[str, Any]:
    return {
        "model_load_lines_before": before,
        "model_loads_during_run": len(after) - len(before),
        "max_loads_in_process": max((line["loads_in_process"] for line in after), default=0),
    }
