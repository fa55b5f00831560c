"""`make demo` on embedded defaults: SQLite and the filesystem broker, real web and worker
processes, a sample batch over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from tests import images

pytestmark = pytest.mark.e2e

SAMPLES: dict[str, Callable[[], bytes]] = {
    "good.jpg": images.photo_jpeg,
    "rotated.jpg": images.exif_rotated_jpeg,
    "black.jpg": images.black_photo_jpeg,
    "empty.jpg": images.empty_file,
    "notes.jpg": images.non_image,
}


def run_demo(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    samples = tmp_path / "samples"
    samples.mkdir()
    for name, make in SAMPLES.items():
        (samples / name).write_bytes(make())
    # No DATABASE_URL or broker: the demo must run on its embedded defaults.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["INSPECTION_VAR_DIR"] = str(tmp_path / "var")
    command = [sys.executable, "manage.py", "demo", "--samples", str(samples), "--timeout", "120"]
    return subprocess.run(
        command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300
    )


def test_demo_processes_the_sample_batch_on_embedded_defaults(tmp_path: Path) -> None:
    result = run_demo(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "Database: sqlite3" in out and "Broker: filesystem://" in out
    assert "Batch completed: 5/5 images" in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines() if ".jpg " in line}
    assert rows["black.jpg"] == "failed" and "too_dark" in out
    assert rows["empty.jpg"] == "failed" and "empty_file" in out
    assert rows["notes.jpg"] == "failed" and "not_an_image" in out
    # The untrained dev model finds nothing, so usable photos wait for a reviewer.
    assert rows["good.jpg"] in ("accepted", "needs_review")
    assert rows["rotated.jpg"] in ("accepted", "needs_review")
    assert "/api/v1/docs/" in out
    assert (tmp_path / "var" / "inspection.sqlite3").is_file()
