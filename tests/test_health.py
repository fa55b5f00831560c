"""/healthz and /readyz: JSON detail per check, 200 or 503; readiness follows the broker down
and back up (a Redis of the test's own on a free port, never the shared one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import Client

from inspection.demo.processes import free_port
from inspection.observability import broker, heartbeat, process_ready
from tests.workers import TEST_REDIS_URL

pytestmark = pytest.mark.django_db


class PrivateRedis:
    """redis-server on a free port, in the foreground of a subprocess we own."""

    def __init__(self) -> None:
        self.port = free_port(0)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    assert shutil.which("redis-server"), "redis-server is installed by bin/services"
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ready_process(monkeypatch: pytest.MonkeyPatch) -> int:
    """This process plays a worker's pool process that has said it is ready."""
    monkeypatch.setattr(process_ready, "_table", None)
    process_ready.prepare()
    process_ready.mark_ready()
    return os.getpid()


def checks(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    return response.status_code, response.json()["checks"]


def test_healthz_answers_without_dependencies(client: Client) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.external  # a redis-server of its own, stopped and started
def test_readiness_follows_the_broker_down_and_back(
    client: Client,
    settings: Any,
    media_root: Path,
    private_redis: PrivateRedis,
    ready_process: int,
) -> None:
    settings.CELERY_BROKER_URL = private_redis.url
    beating = heartbeat.Heartbeat("inference", "inference@test", interval=0.1).start()
    heartbeat.beat("cpu", "cpu@test", ttl=600, pids=[ready_process], ready=[ready_process])
    try:
        assert heartbeat_seen()
        status, found = checks(client)
        assert status == 200, found
        assert set(found) == {"database", "broker", "storage", "cpu_worker", "inference_worker"}
        assert found["inference_worker"]["detail"] == "inference@test"
        assert found["cpu_worker"]["detail"] == "cpu@test"

        private_redis.stop()
        status, found = checks(client)
        assert status == 503
        assert not found["broker"]["ok"] and "ConnectionError" in found["broker"]["detail"]
        assert found["database"]["ok"] and found["storage"]["ok"]

        private_redis.start()  # empty: the heartbeat thread writes its key again by itself
        assert heartbeat_seen()
        status, found = checks(client)
        assert (status, found["inference_worker"]["ok"]) == (503, True), found
        assert not found["cpu_worker"]["ok"]  # its (one-off) beat went with the old Redis
    finally:
        beating.stop()
    assert heartbeat.alive("inference") == []  # a stopped worker removes its key


def heartbeat_seen(timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if heartbeat.alive("inference"):
                return True
        except redis.ConnectionError:
            pass
        time.sleep(0.05)
    return False


def test_no_inference_worker_means_not_ready(
    client: Client, settings: Any, media_root: Path, redis_queues: redis.Redis
) -> None:
    settings.CELERY_BROKER_URL = TEST_REDIS_URL
    heartbeat.beat("cpu", "cpu@test", pids=[10, 11], ready=[11])
    status, found = checks(client)
    assert status == 503
    assert found["broker"]["ok"] and found["cpu_worker"]["ok"]
    assert not found["inference_worker"]["ok"]
    assert "no inference worker heartbeat" in found["inference_worker"]["detail"]


def test_a_worker_still_loading_its_models_is_not_ready(
    client: Client, settings: Any, media_root: Path, redis_queues: redis.Redis
) -> None:
    """Celery's own "ready" comes before the pool processes have loaded the models: the
    heartbeat alone does not make an inference worker ready, a ready process does."""
    settings.CELERY_BROKER_URL = TEST_REDIS_URL
    heartbeat.beat("cpu", "cpu@test", pids=[10, 11], ready=[11])
    heartbeat.beat("inference", "inference@test", pids=[20, 21])
    status, found = checks(client)
    assert status == 503
    detail = found["inference_worker"]["detail"]
    assert "inference@test: started, no process ready yet" in detail
    heartbeat.beat("inference", "inference@test", pids=[20, 21], ready=[21])
    assert checks(client)[0] == 200


def test_a_pool_process_marked_ready_is_reported_while_it_lives(ready_process: int) -> None:
    assert process_ready.ready_pids({ready_process, 1}) == {ready_process}
    assert process_ready.ready_pids({1}) == set()  # the process is gone: not ready


def test_filesystem_broker_probe_heartbeat_and_queue_depth(
    client: Client, settings: Any, media_root: Path, tmp_path: Path
) -> None:
    """Embedded runs: the broker is a folder; depth counts its message files."""
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.BROKER_DATA_DIR = tmp_path / "broker"
    (tmp_path / "broker" / "queue").mkdir(parents=True)
    for index in range(3):
        (tmp_path / "broker" / "queue" / f"{index}_abc.gpu.msg").write_bytes(b"{}")
    heartbeat.beat("inference", "inference@host", pids=[20], ready=[20])
    heartbeat.beat("cpu", "cpu@host", pids=[10], ready=[10])
    status, found = checks(client)
    assert status == 200, found
    assert broker.queue_depths("filesystem://", ["gpu", "cpu"]) == {"gpu": 3, "cpu": 0}
    heartbeat.forget("inference", "inference@host")
    assert checks(client)[0] == 503


def test_a_subset_of_checks_for_a_web_pod(
    client: Client, settings: Any, media_root: Path, redis_queues: redis.Redis
) -> None:
    """A web pod's own readiness leaves the (autoscaled) inference workers out."""
    settings.CELERY_BROKER_URL = TEST_REDIS_URL
    response = client.get("/readyz", {"check": "database,broker,storage"})
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "broker", "storage"}


def test_an_unknown_check_is_400_naming_the_known_ones(client: Client) -> None:
    """A typo in a probe's query is the caller's mistake, not "not ready" (503 would have the
    orchestrator restart a healthy pod)."""
    response = client.get("/readyz", {"check": "database,nonsense"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_check"
    assert body["checks"] == ["database", "broker", "storage", "cpu_worker", "inference_worker"]
    assert "nonsense" in body["detail"] and "inference_worker" in body["detail"]
