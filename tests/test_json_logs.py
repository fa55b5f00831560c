"""LOG_FORMAT=json: every line the service's processes print is one JSON object. They are started
the way `manage.py serve` starts them (`inspection.demo.processes`): gunicorn with the project's
config, a CPU worker and an inference worker (which loads the model: ultralytics), with every
Python warning shown. A photo is submitted over the API and preprocessed, gunicorn refuses a
request itself, and everything stops; then each line of each log must parse. Below, a Django
process's Python warnings and an uncaught exception, as JSON lines too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from inspection.demo import processes
from inspection.models import Facility, ModelVersion
from tests import images
from tests.conftest import make_api_key
from tests.workers import ROOT, wait_until, worker_env

NAMES = ("web", "cpu-worker", "inference-worker", "beat", "flower")
# Celery's line for a finished task, whatever its outcome (this test is about the lines).
PREPROCESS_RAN = re.compile(r"Task inspection\.preprocess_image\[[^]]+\] (succeeded|raised)")


@pytest.fixture
def service(
    tmp_path: Path, facility: Facility, dev_model: ModelVersion, redis_queues: redis.Redis
) -> Iterator[tuple[processes.ProcessGroup, str]]:
    env = worker_env(
        tmp_path / "media", tmp_path / "var", LOG_FORMAT="json", PYTHONWARNINGS="always"
    )
    group = processes.ProcessGroup(tmp_path / "logs")
    port = processes.free_port(0)
    commands = {
        "web": processes.web_command(port),
        "cpu-worker": processes.cpu_worker_command(),
        "inference-worker": processes.inference_worker_command(),
        "beat": processes.beat_command(),
        "flower": processes.flower_command(processes.free_port(0)),
    }
    try:
        for name, command in commands.items():
            role = {"INSPECTION_WORKER_ROLE": "inference"} if name == "inference-worker" else {}
            group.start(name, command, {**env, **metrics_env(tmp_path, name), **role})
        yield group, f"http://127.0.0.1:{port}"
    finally:
        group.stop()


def metrics_env(tmp_path: Path, name: str) -> dict[str, str]:
    return {
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics" / name),
        "WORKER_METRICS_PORT": "0",
    }


def wait_until_ready(group: processes.ProcessGroup, port: int) -> None:
    problem = processes.wait_until_ready(group, port, 180)
    assert not problem, problem


def submit_photo(base_url: str, key: str) -> str:
    answer = requests.post(
        f"{base_url}/api/v1/batches/",
        headers={"Authorization": f"Api-Key {key}"},
        data={"facility": "dc-north"},
        files=[("images", ("photo.jpg", images.photo_jpeg(320, 240)))],
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def parsed(path: Path) -> list[dict[str, Any]]:
    """Every line of a log as JSON; fails on the first line that is not a JSON object."""
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            entry = json.loads(line)
        except ValueError:
            raise AssertionError(f"{path.name}:{number} is not JSON: {line[:300]!r}") from None
        assert isinstance(entry, dict), f"{path.name}:{number}: {line[:300]!r}"
        assert {"ts", "level", "logger", "message"} <= set(entry), f"{path.name}:{number}"
        entries.append(entry)
    return entries


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_every_line_of_every_process_is_json(
    service: tuple[processes.ProcessGroup, str], facility: Facility
) -> None:
    group, base_url = service
    wait_until_ready(group, int(base_url.rsplit(":", 1)[1]))
    submit_photo(base_url, make_api_key(facility))
    ran = wait_until(lambda: bool(PREPROCESS_RAN.search(group.log_tail("cpu-worker", 50))), 120)
    assert ran, group.log_tail("cpu-worker")
    refused = requests.get(
        f"{base_url}/healthz", headers={"Cookie": "c=" + "x" * 65536}, timeout=10
    )
    assert refused.status_code == 431
    group.stop()

    logs = {name: parsed(group.log_dir / f"{name}.log") for name in NAMES}
    web, cpu, inference, beat, flower = (logs[name] for name in NAMES)
    # gunicorn's own lines: start-up, the access log (with the request's fields), a refusal.
    assert any(e["message"].startswith("Booting worker") for e in web)
    assert any(e.get("http", {}).get("status") == "202" for e in web)
    assert any(e["logger"] == "gunicorn.error" and "Invalid request" in e["message"] for e in web)
    # The workers' start-up (no text banner), their tasks and their shutdown.
    assert any(e["message"].startswith("worker cpu@") for e in cpu)
    assert any("inspection.preprocess_image" in e["message"] for e in cpu)
    assert any("model loaded" in e["message"] for e in inference)
    assert all(any("Warm shutdown" in e["message"] for e in logs[name]) for name in NAMES[1:3])
    # Beat and Flower: their start-up lines, no banner.
    assert any(e["logger"] == "celery.beat" for e in beat)
    assert any(e["logger"].startswith("flower") for e in flower)


def run_django(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh Python with Django set up and LOG_FORMAT=json."""
    env = worker_env(
        tmp_path / "media",
        tmp_path / "var",
        LOG_FORMAT="json",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    script = f"import django, warnings\ndjango.setup()\n{code}"
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_a_python_warning_is_a_json_line(tmp_path: Path) -> None:
    result = run_django("warnings.warn('deprecated thing', DeprecationWarning)", tmp_path)
    [line] = result.stderr.splitlines()
    entry = json.loads(line)
    assert (entry["logger"], entry["level"]) == ("py.warnings", "WARNING")
    assert "DeprecationWarning: deprecated thing" in entry["message"]


@pytest.mark.slow
def test_an_uncaught_exception_is_one_json_line(tmp_path: Path) -> None:
    result = run_django("raise RuntimeError('cannot start')", tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    entry = json.loads(line)
    assert (entry["logger"], entry["level"]) == ("uncaught", "CRITICAL")
    assert entry["message"] == "uncaught RuntimeError: cannot start"
    assert "Traceback" in entry["exc_info"]
