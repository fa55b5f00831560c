"""Test support for the pipeline: the dev model, an isolated MEDIA_ROOT, image rows, and real
`celery worker` processes started as subprocesses (stopped in fixture teardown)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.db import connection

from inspection import storage
from inspection.inference.runtime import ROLE_ENV
from inspection.models import Batch, Facility, Image, ThresholdPolicy
from inspection.observability import heartbeat
from inspection.pipeline.stages import CPU_ROLE, INFERENCE_ROLE

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3")
# What a CPU worker consumes: the CPU stages and the maintenance queue (sweeps, webhooks, exports).
CPU_QUEUES = CPU_ROLE.queue_arg


# --- data -------------------------------------------------------------------------------------


def photo_bytes(width: int = 800, height: int = 450, seed: int = 0) -> bytes:
    """A textured, well-exposed synthetic JPEG (boxes and noise: sharp, contrasty)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(90, 170, (height, width, 3), dtype=np.uint8)
    for _ in range(12):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(
            image,
            (x, y),
            (x + int(rng.integers(30, 200)), y + int(rng.integers(30, 150))),
            color,
            -1,
        )
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes()


def empty_batch(facility: Facility) -> Batch:
    return Batch.objects.create(facility=facility)


def add_image(batch: Batch, data: bytes, name: str = "photo.jpg", **fields: Any) -> Image:
    key, sha = storage.store_original(data)
    position = batch.images.count()
    image = Image.objects.create(
        batch=batch,
        facility=batch.facility,
        position=position,
        original_name=name,
        content_hash=sha,
        storage_key=key,
        size_bytes=len(data),
        **fields,
    )
    Batch.objects.filter(pk=batch.pk).update(total=position + 1)
    return image


def accepting_policy(facility: Facility, **fields: Any) -> ThresholdPolicy:
    """Random weights detect (almost) nothing: good photos should end accepted."""
    defaults = {"review_if_no_detections": False, "min_confidence": 0.3, "default_threshold": 0.3}
    return ThresholdPolicy.objects.create(facility=facility, **{**defaults, **fields})


def reload(image: Image) -> Image:
    image.refresh_from_db()
    return image


# --- real worker processes --------------------------------------------------------------------


def worker_database_url() -> str:
    """DATABASE_URL pointing at the database pytest created (test_<name>)."""
    db = connection.settings_dict
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@dataclass
class Worker:
    name: str
    queue: str
    env: dict[str, str]
    log_path: Path
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            self.queue,
            "-n",
            f"{self.name}@%h",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-l",
            "INFO",
            *self.extra_args,
        ]

    def start(self) -> Worker:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 120, processes: int = 1) -> None:
        """Until the worker's heartbeat names `processes` pool processes ready to take tasks
        (an inference process: models loaded and warmed up), as /readyz sees it."""
        role = INFERENCE_ROLE if self.env.get(ROLE_ENV) == INFERENCE_ROLE.name else CPU_ROLE
        node = f"{self.name}@{socket.gethostname()}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            beat = heartbeat.beats(role.name, self.env["CELERY_BROKER_URL"]).get(node)
            if beat is not None and len(beat.ready) >= processes:
                return
            assert self.alive(), f"worker {self.name} exited:\n{self.log()[-3000:]}"
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: not ready after {timeout}s:\n{self.log()[-3000:]}")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            assert self.alive(), f"worker {self.name} exited:\n{self.log()[-3000:]}"
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: no {text!r} after {timeout}s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children."""
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()


def worker_env(media_root: Path, var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": TEST_REDIS_URL,
        "CELERY_BROKER_URL": TEST_REDIS_URL,
        "MEDIA_ROOT": str(media_root),
        "INSPECTION_VAR_DIR": str(var_dir),
        "YOLO_CONFIG_DIR": str(var_dir / "ultralytics"),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
        # Two workers of a test on one host: no fixed exporter port (a test wanting metrics
        # gives each its own).
        "WORKER_METRICS_PORT": "0",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, **overrides}


@dataclass
class WorkerSet:
    """The cpu and the inference worker of one test; restartable, always stopped at the end."""

    env: dict[str, str]
    log_dir: Path
    workers: dict[str, Worker] = field(default_factory=dict)
    starts: int = 0

    def start(
        self, name: str, queue: str, role: str = "", extra_args: list[str] | None = None
    ) -> Worker:
        self.starts += 1
        env = {**self.env, "INSPECTION_WORKER_ROLE": role} if role else self.env
        log_path = self.log_dir / f"{name}-{self.starts}.log"
        worker = Worker(name, queue, env, log_path, extra_args or []).start()
        self.workers[name] = worker
        return worker

    def stop_all(self) -> None:
        for worker in self.workers.values():
            worker.stop()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
