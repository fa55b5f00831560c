"""Fault injection with the service's real processes: a PostgreSQL and a Redis of the test's own
(spare ports, stopped and restarted at will), and `manage.py serve` (the supervisor of `make up`)
against them. Nothing here touches the shared servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import requests

from inspection.demo.processes import free_port
from tests.workers import ROOT


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := predicate():
                return value
        except Exception:
            pass
        time.sleep(interval)
    raise AssertionError(f"not within {timeout}s: {predicate}")


def postgres_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    assert found, f"{name} missing (PostgreSQL server binaries)"
    return str(found[-1])


@dataclass
class OwnPostgres:
    """initdb'd into a folder owned by `postgres`, on a spare port, trust auth."""

    folder: Path
    port: int = field(default_factory=lambda: free_port(0))

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "chaos") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True,
                       capture_output=True, timeout=120)  # fmt: skip

    def init(self) -> OwnPostgres:
        self.folder.mkdir(parents=True)
        shutil.chown(self.folder, "postgres")
        self._as_postgres(postgres_bin("initdb"), "-D", str(self.data), "-A", "trust",
                          "-U", "postgres")  # fmt: skip
        self.start()
        with psycopg.connect(self.url("postgres").replace("postgres://", "postgresql://"),
                             autocommit=True) as conn:  # fmt: skip
            conn.execute("CREATE DATABASE chaos")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._as_postgres(postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.folder / "server.log"), "-w", "start")  # fmt: skip

    def stop_immediately(self) -> None:
        self._as_postgres(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "stop")  # fmt: skip

    def remove(self) -> None:
        try:
            self.stop_immediately()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        url = self.url().replace("postgres://", "postgresql://")
        with psycopg.connect(url) as conn:
            return list(conn.execute(sql, params).fetchall())


@dataclass
class OwnRedis:
    """No persistence: a restart loses every queued message, like a cache node that died."""

    folder: Path
    port: int = field(default_factory=lambda: free_port(0))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, 10)
        return self

    def _answers(self) -> bool:
        import redis

        return bool(redis.Redis.from_url(self.url, socket_timeout=0.5).ping())

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@dataclass
class Service:
    """`manage.py serve` on the own servers: web, CPU and inference workers, beat, Flower."""

    folder: Path
    database_url: str
    redis_url: str
    web_port: int = field(default_factory=lambda: free_port(0))
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def running(self) -> subprocess.Popen[bytes]:
        """The process of the started service."""
        assert self.process is not None, "the service was never started"
        return self.process

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "WEB_PORT": str(self.web_port),
            "FLOWER_PORT": str(free_port(0)),
            "INSPECTION_VAR_DIR": str(self.folder / "var"),
            "MEDIA_ROOT": str(self.folder / "media"),
            "YOLO_CONFIG_DIR": str(self.folder / "var" / "ultralytics"),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        return env

    def start(self) -> Service:
        self.starts += 1
        log = (self.folder / f"serve-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve"], cwd=ROOT, env=self.env(), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_for(self.ready, 180, 0.5)
        return self

    def ready(self) -> bool:
        return requests.get(f"{self.base}/readyz", timeout=2).status_code == 200

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # serve stops every child
            self.process.wait(60)

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def worker(self, role: str) -> psutil.Process:
        """The main process of the `cpu` or `inference` Celery worker."""
        for process in psutil.process_iter(["cmdline"]):
            line = process.info["cmdline"] or []
            if f"{role}@%h" in line and "worker" in line and process.ppid() == self.running.pid:
                return process
        raise LookupError(f"no {role} worker")

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.folder.glob("serve-*")))


def own_folder() -> Path:
    """A folder the `postgres` user can enter (pytest's temporary folders are private)."""
    folder = Path(tempfile.mkdtemp(prefix="inspection-chaos-"))
    folder.chmod(0o755)
    return folder


def submit(service: Service, key: str, files: list[tuple[str, bytes]], idem: str) -> Any:
    return requests.post(
        f"{service.base}/api/v1/batches/",
        headers={"Authorization": f"Api-Key {key}", "Idempotency-Key": idem},
        data={"facility": "chaos"},
        files=[("images", item) for item in files],
        timeout=60,
    )


def batch_state(service: Service, key: str, batch_id: str) -> dict[str, Any]:
    answer = requests.get(
        f"{service.base}/api/v1/batches/{batch_id}/",
        headers={"Authorization": f"Api-Key {key}"},
        timeout=10,
    )
    return dict(json.loads(answer.content))
