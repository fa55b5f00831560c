"""No cold first batch: a model activated while the inference workers run is loaded and warmed by
every inference pool process before a submission needs it (runtime.py's model watcher: each pool
process looks for newly active versions every 2 s; the pool processes hold the models, and a
Celery broadcast would reach only the main worker process)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import redis

from inspection.inference import registry
from inspection.models import Batch, Facility, Image, ModelVersion
from inspection.pipeline.enqueue import enqueue_preprocess
from tests.api_support import finished_at
from tests.workers import (
    CPU_QUEUES,
    WorkerSet,
    accepting_policy,
    add_image,
    empty_batch,
    photo_bytes,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
POOL_PROCESSES = 2
LOADED = re.compile(r"model loaded: fresh:1 .* load_ms=(\d+) loads_in_process=\d+ pid=(\d+)")


def niceness(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def expected_niceness(lowered_by: int) -> int:
    return min(19, niceness(os.getpid()) + lowered_by)  # from this test's own (capped at 19)


def autogroup_niceness(pid: int) -> int | None:
    """The niceness of the process's session group ("/autogroup-85 nice 10"), None without."""
    path = Path(f"/proc/{pid}/autogroup")
    return int(path.read_text().split()[-1]) if path.exists() else None


def test_a_model_activated_while_workers_run_is_warm_before_its_first_batch(
    facility: Facility,
    dev_model: ModelVersion,
    tmp_path: Path,
    media_root: Path,
    redis_queues: redis.Redis,
    capsys: pytest.CaptureFixture[str],
) -> None:
    accepting_policy(facility)
    logs = tmp_path / "logs"
    logs.mkdir()
    group = WorkerSet(worker_env(media_root, tmp_path / "var"), logs)
    try:
        cpu = group.start("cpu", CPU_QUEUES)
        concurrency = ["--concurrency", str(POOL_PROCESSES)]
        inference = group.start("inference", "gpu", role="inference", extra_args=concurrency)
        inference.wait_ready(processes=POOL_PROCESSES)
        cpu.wait_ready()

        weights = registry.build_untrained_model(tmp_path / "fresh.pt", seed=5)
        fresh = registry.register_model(weights, "fresh", "1", input_size=320)
        activated = time.monotonic()
        registry.activate_model(facility, fresh)
        # Every pool process reports it loaded (the log, not a sleep).
        assert wait_until(lambda: len(LOADED.findall(inference.log())) == POOL_PROCESSES, 60)
        warm_after = time.monotonic() - activated
        loads_before = inference.log().count("model loaded: ")
        pool_pids = [int(pid) for _, pid in LOADED.findall(inference.log())]
        # The model's processes run below the CPU stages (INFERENCE_WORKER_NICENESS, 10).
        assert [niceness(pid) for pid in pool_pids] == [expected_niceness(10)] * POOL_PROCESSES
        assert cpu.process is not None and niceness(cpu.process.pid) == niceness(os.getpid())
        # Where sessions are scheduled as groups, the worker's session yields too.
        assert all(autogroup_niceness(pid) in (None, 10) for pid in pool_pids)

        batch = empty_batch(facility)
        images = [add_image(batch, photo_bytes(seed=seed), f"p{seed}.jpg") for seed in range(4)]
        submitted = time.monotonic()
        enqueue_preprocess([image.pk for image in images])
        done = Batch.objects.filter(pk=batch.pk, status=Batch.Status.COMPLETED).exists
        assert wait_until(done, 60, 0.05)
        elapsed = time.monotonic() - submitted
        log = inference.log()
    finally:
        group.stop_all()

    loaded = LOADED.findall(log)
    assert len({pid for _, pid in loaded}) == POOL_PROCESSES  # each process warmed its own copy
    assert log.count("model loaded: ") == loads_before  # nothing loaded during the batch
    inferred = list(Image.objects.filter(batch=batch))
    assert {image.model_version_id for image in inferred} == {fresh.pk}
    assert all(image.status == Image.Status.ACCEPTED for image in inferred)
    load_ms = min(int(ms) for ms, _ in loaded)
    first = min(inferred, key=finished_at)
    assert first.timings["inference_ms"] < load_ms, (first.timings, load_ms)
    with capsys.disabled():
        print(
            f"\n[activation] fresh model warm in every pool process {warm_after:.1f}s after "
            f"activation (load and warm-up {load_ms} ms each); first batch of {len(images)} in "
            f"{elapsed:.2f}s, first image's inference {first.timings['inference_ms']} ms"
        )
