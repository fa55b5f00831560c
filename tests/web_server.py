"""The web as production runs it: gunicorn with the project's config (the command `manage.py
serve` uses), in a subprocess, against the test database (`tests.workers.worker_env`)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from inspection.demo import processes
from tests.workers import ROOT

START_TIMEOUT_SECONDS = 60


@contextmanager
def running_web(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Start gunicorn, yield its base URL once it listens, stop it (the whole process group)."""
    port = processes.free_port(0)
    with open(log_path, "wb") as log:
        web = subprocess.Popen(
            processes.web_command(port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        if not processes.wait_for_port(port, START_TIMEOUT_SECONDS):
            raise AssertionError(f"gunicorn did not listen:\n{log_path.read_text()[-3000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(web)


def stop(web: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if web.poll() is not None:
        return
    web.terminate()  # the master stops its workers gracefully
    try:
        web.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(web.pid, signal.SIGKILL)
        web.wait()
