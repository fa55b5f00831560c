"""Chaos: the faults of a production night, with the service's real processes (`manage.py
serve`, as `make up` runs it) on a PostgreSQL and a Redis of the test's own. Each fault lands
while a batch is in flight; afterwards every image is terminal, none is lost or duplicated, and
work resumed within RECOVERY_SECONDS of the fault's end at the default settings.

The faults: kill -9 of the CPU worker and of the inference worker (the supervisor restarts
them), a Redis restart without persistence after two minutes down (every queued message lost; a
submission during the outage still answers 202), a PostgreSQL immediate stop for two minutes (a
submission during it answers a JSON 503 with Retry-After; the first request after it
succeeds), a kill -9 of every process of the service and a fresh start, and a poison image that
kills every worker process that takes it (it must end failed within two minutes while the rest
of its batch completes)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
import requests

from tests import images
from tests.chaos_support import (
    OwnPostgres,
    OwnRedis,
    Service,
    batch_state,
    own_folder,
    submit,
    wait_for,
)

pytestmark = pytest.mark.chaos

IMAGES = 12
RECOVERY_SECONDS = 30.0
# The longest outage of Redis or PostgreSQL the service must ride out at its defaults.
OUTAGE_SECONDS = 120
POISON_SECONDS = 120.0
# A replaced inference process loads and warms its model before it counts as ready.
READY_SECONDS = 60.0
TERMINAL = ("accepted", "needs_review", "failed", "rejected")
HELD = {"cpu": "preprocessing", "inference": "inferring"}


class Stack:
    def __init__(self) -> None:
        self.folder = own_folder()
        self.postgres = OwnPostgres(self.folder / "postgres").init()
        self.redis = OwnRedis(self.folder / "redis").start()
        self.service = Service(self.folder, self.postgres.url(), self.redis.url).start()
        out = self.service.manage(
            "create_api_key", "--name", "chaos", "--facility", "chaos", "--create-facility"
        )
        self.key = out.strip().splitlines()[-1]

    def close(self) -> None:
        self.service.stop()
        self.redis.kill()
        self.postgres.remove()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    built = Stack()
    try:
        yield built
    finally:
        built.close()


def photos(seed: int, count: int = IMAGES) -> list[tuple[str, bytes]]:
    return [
        (f"p{seed}-{i}.jpg", images.photo_jpeg(640, 480, seed=seed * 100 + i)) for i in range(count)
    ]


def submitted(stack: Stack, seed: int, count: int = IMAGES) -> str:
    answer = submit(stack.service, stack.key, photos(seed, count), str(uuid.uuid4()))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def statuses(stack: Stack, batch_id: str) -> list[str]:
    rows = stack.postgres.rows("SELECT status FROM inspection_image WHERE batch_id = %s", batch_id)
    return [row[0] for row in rows]


def held_by(stack: Stack, batch_id: str, status: str) -> int:
    return sum(s == status for s in statuses(stack, batch_id))


def wait_all_terminal(stack: Stack, batch_ids: list[str], timeout: float) -> float:
    """Seconds until every image of the batches is terminal."""
    started = time.monotonic()
    wait_for(lambda: all(set(statuses(stack, b)) <= set(TERMINAL) for b in batch_ids), timeout, 0.2)
    return time.monotonic() - started


def assert_exactly_once(stack: Stack, batch_id: str, count: int = IMAGES) -> None:
    positions = stack.postgres.rows(
        "SELECT position FROM inspection_image WHERE batch_id = %s ORDER BY position", batch_id
    )
    assert [p for (p,) in positions] == list(range(count))  # none lost, none twice
    doubled = stack.postgres.rows(
        "SELECT d.image_id FROM inspection_detection d JOIN inspection_image i ON i.id = d.image_id"
        " WHERE i.batch_id = %s AND d.source = 'model' GROUP BY d.image_id, d.class_id,"
        " round(d.x1), round(d.y1), round(d.x2), round(d.y2) HAVING count(*) > 1",
        batch_id,
    )
    assert doubled == []  # no image inferred twice into its result
    # The batch completes in the transaction after its last image's (or at the next sweep).
    state = wait_for(lambda: _completed(stack, batch_id), 10)
    assert state["counts"]["total"] == count
    assert sum(state["counts"][s] for s in TERMINAL) == count


def _completed(stack: Stack, batch_id: str) -> dict[str, Any] | None:
    state = batch_state(stack.service, stack.key, batch_id)
    return state if state["status"] == "completed" else None


def report(name: str, seconds: float, extra: str = "") -> None:
    print(f"\n[chaos] {name}: recovered in {seconds:.1f}s {extra}")


@pytest.mark.parametrize("role", ["cpu", "inference"])
def test_a_worker_killed_mid_batch_is_restarted_and_its_images_finish(
    stack: Stack, role: str
) -> None:
    batch_id = submitted(stack, seed=1 if role == "cpu" else 2)
    wait_for(lambda: held_by(stack, batch_id, HELD[role]) > 0, 60, 0.02)
    worker = stack.service.worker(role)
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool, as the OOM killer would
    restarted = wait_for(lambda: _restarted(stack, role, worker.pid), 30, 0.2)
    recovery = wait_all_terminal(stack, [batch_id], RECOVERY_SECONDS)
    assert_exactly_once(stack, batch_id)
    report(f"kill -9 {role} worker", recovery, f"(new pid {restarted.pid})")


def _restarted(stack: Stack, role: str, old_pid: int) -> psutil.Process | None:
    worker = stack.service.worker(role)
    return worker if worker.pid != old_pid else None


def test_a_redis_restart_without_persistence_loses_no_image(stack: Stack) -> None:
    batch_id = submitted(stack, seed=3)
    wait_for(lambda: held_by(stack, batch_id, "queued") < IMAGES, 60, 0.02)
    stack.redis.kill()  # every queued message is gone with it
    during = submit(stack.service, stack.key, photos(4, 4), str(uuid.uuid4()))
    assert during.status_code == 202, during.text  # stored; its messages follow later
    time.sleep(OUTAGE_SECONDS)
    stack.redis.start()
    recovery = wait_all_terminal(stack, [batch_id, during.json()["id"]], RECOVERY_SECONDS)
    assert_exactly_once(stack, batch_id)
    assert_exactly_once(stack, during.json()["id"], 4)
    report(f"Redis restart without persistence ({OUTAGE_SECONDS} s down)", recovery)


def test_a_postgres_outage_fails_nothing_and_is_answered_honestly(stack: Stack) -> None:
    batch_id = submitted(stack, seed=5)
    wait_for(lambda: held_by(stack, batch_id, "queued") < IMAGES, 60, 0.02)
    stack.postgres.stop_immediately()
    during = submit(stack.service, stack.key, photos(6, 2), str(uuid.uuid4()))
    assert during.status_code == 503 and during.headers["Content-Type"] == "application/json"
    assert during.json()["code"] == "database_unavailable" and int(during.headers["Retry-After"])
    time.sleep(OUTAGE_SECONDS)
    stack.postgres.start()
    first = batch_state(stack.service, stack.key, batch_id)  # the first request after it
    assert first["id"] == batch_id
    recovery = wait_all_terminal(stack, [batch_id], RECOVERY_SECONDS)
    assert_exactly_once(stack, batch_id)
    assert "failed" not in statuses(stack, batch_id)  # nothing failed for having waited
    report(f"PostgreSQL immediate stop ({OUTAGE_SECONDS} s down)", recovery)


def test_every_process_killed_and_started_again(stack: Stack) -> None:
    batch_id = submitted(stack, seed=7)
    wait_for(lambda: held_by(stack, batch_id, "queued") < IMAGES, 60, 0.02)
    service = psutil.Process(stack.service.running.pid)
    for process in [service, *service.children(recursive=True)]:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    stack.service.running.wait(10)
    stack.service.start()
    recovery = wait_all_terminal(stack, [batch_id], RECOVERY_SECONDS)
    assert_exactly_once(stack, batch_id)
    report("kill -9 of every process, then a fresh start", recovery)


def test_a_poison_image_fails_within_two_minutes_and_the_rest_completes(stack: Stack) -> None:
    files = photos(8, 6) + [("poison.jpg", images.photo_jpeg(4000, 3000, seed=9))]
    answer = submit(stack.service, stack.key, files, str(uuid.uuid4()))
    batch_id = answer.json()["id"]
    started = time.monotonic()
    stop = threading.Event()
    killer = threading.Thread(target=_kill_whoever_takes, args=(stack, batch_id, stop))
    killer.start()
    try:
        wait_all_terminal(stack, [batch_id], POISON_SECONDS)
    finally:
        stop.set()
        killer.join()
    seconds = time.monotonic() - started
    poison = stack.postgres.rows(
        "SELECT status, reason FROM inspection_image WHERE batch_id = %s AND original_name = %s",
        batch_id,
        "poison.jpg",
    )
    assert poison == [("failed", "attempts_exhausted")]
    assert_exactly_once(stack, batch_id, 7)
    assert statuses(stack, batch_id).count("failed") == 1
    report("poison image (kills every process that takes it)", seconds, "until failed")


def _kill_whoever_takes(stack: Stack, batch_id: str, stop: threading.Event) -> None:
    """The poison: any worker process that claims it dies (as a decoder crash would)."""
    while not stop.is_set():
        rows = stack.postgres.rows(
            "SELECT leased_by FROM inspection_image WHERE batch_id = %s AND original_name = %s"
            " AND leased_by <> ''",
            batch_id,
            "poison.jpg",
        )
        for (holder,) in rows:
            try:
                os.kill(int(holder.rsplit("/", 1)[1]), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        time.sleep(0.01)


def test_the_service_answers_after_every_fault(stack: Stack) -> None:
    """Ready again soon after the last fault: the poison killed pool processes until just
    before, and a replaced inference process counts as ready only once its model is warm."""
    started = time.monotonic()
    last: list[requests.Response] = []

    def ready() -> bool:
        last[:] = [requests.get(f"{stack.service.base}/readyz", timeout=5)]
        return last[0].status_code == 200

    try:
        wait_for(ready, READY_SECONDS, 0.5)
    except AssertionError:
        body = last[0].text if last else "no answer"
        raise AssertionError(f"/readyz not 200 within {READY_SECONDS} s: {body}") from None
    report("ready after the last fault", time.monotonic() - started)
