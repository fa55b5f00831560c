"""The service end to end: upload over REST -> real workers -> stored routing decision.

Times are wall clock on this machine: the client's time before its POST, and the completion
and decision timestamps the workers write (`Batch.completed_at`, `Image.finished_at`), so the
polling interval does not blur them."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load_counts, progress
from bench.client import files_field, submit
from bench.raw import chunks
from bench.service import Service, Setup
from bench.stats import median, percentile, rate

UPLOAD_CHUNK = 100  # files per POST (MAX_FILES_PER_BATCH defaults to 200)


def throughput(service: Service, setup: Setup, paths: list[Path], timeout: float) -> dict[str, Any]:
    """POST every image (in chunks of 100), then wait until every batch completed; with the
    statements and messages the service spent on them."""
    progress.wait_until(lambda: progress.pending_images() == 0, 60)
    counted_before = load_counts.read(service.metrics_root)
    started = time.time()
    batch_ids = [post_batch(service, setup, list(group)) for group in chunks(paths, UPLOAD_CHUNK)]
    uploaded = time.time() - started
    done = progress.wait_until(
        lambda: all(progress.batch_completed_at(b) for b in batch_ids), timeout, 0.1, service.dead
    )
    if not done:
        raise RuntimeError(f"pipeline did not finish {len(paths)} images in {timeout}s")
    finished = max(progress.batch_completed_at(b) for b in batch_ids).timestamp()
    # The counters are written as the work is done; the last batch's completion was among it.
    cost = load_counts.per_image(counted_before, load_counts.read(service.metrics_root), len(paths))
    return {
        "images": len(paths),
        "upload_seconds": round(uploaded, 3),
        "seconds": round(finished - started, 3),
        "images_per_s": rate(len(paths), finished - started),
        **image_summary(batch_ids),
        "cost": cost,
    }


def post_batch(service: Service, setup: Setup, paths: list[Path]) -> str:
    answer = submit(
        service.base_url, setup.api_key, setup.facility_slug, files_field(paths), str(uuid.uuid4())
    )
    if answer.status != 202:
        raise RuntimeError(f"submission answered {answer.status}: {answer.body}")
    return str(answer.body["id"])


def image_summary(batch_ids: list[str]) -> dict[str, Any]:
    """Where the images ended and how the workers spent their time (from the stored timings)."""
    from inspection.models import Image

    rows = list(Image.objects.filter(batch_id__in=batch_ids).values("status", "timings"))
    timings = [row["timings"] or {} for row in rows]
    return {
        "statuses": dict(Counter(row["status"] for row in rows)),
        "inference_batch_sizes": dict(Counter(t.get("batch_size") for t in timings)),
        "median_ms": {
            name: median([t[name] for t in timings if name in t])
            for name in (
                "preprocess_ms",
                "read_ms",
                "decode_ms",
                "store_ms",
                "array_load_ms",
                "inference_ms",
                "queue_wait_ms",
                "validate_ms",
            )
        },
    }


def latency(service: Service, setup: Setup, paths: list[Path], runs: int) -> dict[str, Any]:
    """One-image batches on an idle system: submission -> routing decision, vs model time."""
    samples = [one_latency(service, setup, paths[index % len(paths)]) for index in range(runs)]
    latencies = [s["latency_ms"] for s in samples]
    models = [s["inference_ms"] for s in samples]
    overheads = [s["overhead_ms"] for s in samples]
    return {
        "runs": samples,
        "latency_ms": {"median": median(latencies), "p90": percentile(latencies, 0.9)},
        "model_ms_in_worker": {"median": median(models), "p90": percentile(models, 0.9)},
        "overhead_ms": {"median": median(overheads), "p90": percentile(overheads, 0.9)},
    }


def one_latency(service: Service, setup: Setup, path: Path) -> dict[str, Any]:
    from inspection.models import Image

    progress.wait_until(lambda: progress.pending_images() == 0, 60)
    time.sleep(0.5)  # idle: the previous run's on-commit work and logs settle
    started = time.time()
    batch_id = post_batch(service, setup, [path])
    posted = time.time()
    decided = Image.objects.filter(batch_id=batch_id, finished_at__isnull=False)
    if not progress.wait_until(decided.exists, 60, 0.02, service.dead):
        raise RuntimeError("a one-image batch got no decision in 60 s")
    image = decided.values("status", "finished_at", "timings").get()
    finished_at = image["finished_at"]
    assert finished_at is not None  # the query takes finished images only
    latency_ms = (finished_at.timestamp() - started) * 1000
    model_ms = float(image["timings"].get("inference_ms") or 0.0)
    return {
        "status": image["status"],
        "latency_ms": round(latency_ms, 1),
        "post_ms": round((posted - started) * 1000, 1),
        "inference_ms": model_ms,
        "overhead_ms": round(latency_ms - model_ms, 1),
        "timings": image["timings"],
        "at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
    }
