"""Starting and stopping the service's processes (web, workers, beat, Flower) on one machine."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from inspection.observability.logging import is_json, json_line
from inspection.pipeline.stages import CPU_ROLE, INFERENCE_ROLE

CELERY = [sys.executable, "-m", "celery", "-A", "config"]


def free_port(preferred: int) -> int:
    """The preferred port when it is free, else any free port on 127.0.0.1."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port on 127.0.0.1")


def port_in_use(port: int) -> bool:
    """Someone listens on the port (a port left in TIME_WAIT by a process that just died is not
    in use: servers bind it with SO_REUSEADDR, and so does this check)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def web_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--access-logfile",
        "-",
        # Clears the metrics folder at start and forgets exited workers (multiprocess metrics).
        "--config",
        "python:inspection.observability.gunicorn_conf",
    ]


def worker_command(queue: str, name: str, concurrency: int = 1) -> list[str]:
    """A Celery worker for one queue."""
    return [
        *CELERY, "worker", "-Q", queue, "-n", f"{name}@%h", "--concurrency", str(concurrency),
        "--without-mingle", "--without-gossip", "-l", "INFO",
    ]  # fmt: skip


def cpu_worker_command() -> list[str]:
    return worker_command(CPU_ROLE.queue_arg, CPU_ROLE.name, settings.CPU_WORKER_CONCURRENCY)


def inference_worker_command() -> list[str]:
    # One process: it holds the model, and batching replaces parallel processes.
    return worker_command(INFERENCE_ROLE.queue_arg, INFERENCE_ROLE.name)


def beat_command() -> list[str]:
    schedule = Path(settings.VAR_DIR) / "celerybeat-schedule"
    # -q: no text banner, so with LOG_FORMAT=json every line is JSON.
    return [*CELERY, "-q", "beat", "-s", str(schedule), "-l", "INFO"]


def flower_command(port: int) -> list[str]:
    return [*CELERY, "flower", f"--port={port}", "--address=127.0.0.1"]


def start_marker(name: str, log_format: str) -> str:
    """The line a log gets before each start of its process: in the log's own format, so a log
    shipper reading LOG_FORMAT=json logs never meets a line that is not JSON."""
    message = f"--- {name} started {time.strftime('%Y-%m-%d %H:%M:%S')} ---"
    if is_json(log_format):
        return json_line("inspection.supervisor", message) + "\n"
    return message + "\n"


@dataclass
class ProcessGroup:
    """Child processes that share a log folder and stop together. Each child's log is appended
    to (a restart, or the next `make up`, never wipes what an earlier run wrote), and the group
    remembers how each was started, so a supervisor can start it again."""

    log_dir: Path
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    specs: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)

    def start(self, name: str, command: list[str], extra_env: dict[str, str] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / f"{name}.log"
        self.specs[name] = (command, dict(extra_env or {}))
        env = {**os.environ, **(extra_env or {})}
        with path.open("ab") as log:
            log.write(start_marker(name, env.get("LOG_FORMAT", settings.LOG_FORMAT)).encode())
        log = path.open("ab")  # noqa: SIM115 - closed with the child
        self.children[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def restart(self, name: str) -> None:
        command, extra_env = self.specs[name]
        self.start(name, command, extra_env)

    def dead(self) -> list[str]:
        return [name for name, child in self.children.items() if child.poll() is not None]

    def stop(self, timeout: float = 15.0) -> None:
        # SIGTERM to the main process only: a Celery worker then shuts its pool down warmly; a
        # signal to the whole group would kill pool children it then restarts.
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + timeout
        for child in self.children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def wait_until_ready(group: ProcessGroup, port: int, timeout: float) -> str:
    """Wait until the web's /readyz answers 200: database, broker and storage answer, and a CPU
    worker and an inference worker (models loaded and warmed up) have a process ready. Returns
    "" when ready, else what was not: the checks that failed last, or the child that exited."""
    deadline = time.monotonic() + timeout
    problem = "the web server did not answer /readyz"
    while time.monotonic() < deadline:
        if dead := group.dead():
            return f"{', '.join(dead)} exited:\n{group.log_tail(dead[0])}"
        status, body = _readyz(port)
        if status == 200:
            return ""
        if body:
            problem = "; ".join(
                f"{name}: {check['detail']}"
                for name, check in body["checks"].items()
                if not check["ok"]
            )
        time.sleep(0.2)
    return problem


def _readyz(port: int) -> tuple[int, dict[str, Any] | None]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:  # 503: not ready, with the checks' detail
        try:
            return refused.code, json.load(refused)
        except ValueError:
            return refused.code, None
    except (OSError, ValueError):  # not listening yet, or not answering JSON
        return 0, None


def metrics_env(name: str, exporter_port: int = 0) -> dict[str, str]:
    """Each process group gets its own multiprocess metrics folder, so web and each worker
    export only their own processes' numbers (nothing is counted twice)."""
    return {
        "PROMETHEUS_MULTIPROC_DIR": str(Path(settings.VAR_DIR) / "metrics" / name),
        "WORKER_METRICS_PORT": str(exporter_port),
        "WORKER_METRICS_ADDR": "127.0.0.1",
    }


def start_service(
    group: ProcessGroup, web_port: int, with_beat_and_flower: bool, flower_port: int = 5555
) -> dict[str, int]:
    """Web, a CPU worker and an inference worker; beat (the sweeper) and Flower when asked.
    Returns the metrics exporter port of each worker."""
    ports = {"cpu-worker": free_port(9808), "inference-worker": free_port(9809)}
    group.start("web", web_command(web_port), metrics_env("web"))
    group.start("cpu-worker", cpu_worker_command(), metrics_env("cpu-worker", ports["cpu-worker"]))
    group.start(
        "inference-worker",
        inference_worker_command(),
        {
            "INSPECTION_WORKER_ROLE": INFERENCE_ROLE.name,
            **metrics_env("inference-worker", ports["inference-worker"]),
        },
    )
    if with_beat_and_flower:
        group.start("beat", beat_command())
        group.start("flower", flower_command(flower_port))
    return ports


def wait_until_interrupted(group: ProcessGroup) -> list[str]:
    """Block until Ctrl-C, SIGTERM or until a child exits; return the names of exited
    children (the demo: one run, nothing to keep alive). SIGTERM counts as Ctrl-C: the children
    run in their own sessions and would otherwise outlive a terminated parent."""
    signal.signal(signal.SIGTERM, interrupt)
    try:
        while not (dead := group.dead()):
            time.sleep(1)
        return dead
    except KeyboardInterrupt:
        return []


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
