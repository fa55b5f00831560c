"""The README's "Your first integration" section, run as written: every `sh` block between its
markers, in one bash (`set -euo pipefail`) at the repository root, against a live service
started by its own `make up` on the test's PostgreSQL database and Redis. The outcomes the
section states in words (the counts, the reasons, the threshold sources, the policy version) are
read from the README and checked against what the commands produced, so an edit that breaks the
path, or a statement that stops being true, fails here."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis

from inspection.demo.processes import free_port
from inspection.models import ThresholdPolicy
from tests.workers import ROOT, TEST_REDIS_URL, worker_env

README = ROOT / "README.md"
BEGIN, END = "<!-- quickstart:begin -->", "<!-- quickstart:end -->"
BROKEN = {"corrupt", "truncated", "empty_file", "not_an_image"}
SCRIPT_SECONDS = 900


def section() -> str:
    text = README.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "quickstart markers missing"
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def script(text: str) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    assert len(blocks) >= 2, "the quickstart has its sh blocks"
    return "set -euo pipefail\n" + "\n".join(blocks)


def stated_counts(text: str) -> dict[str, int]:
    found = re.search(r"\*\*accepted (\d+), needs_review (\d+), failed (\d+)\*\*", text)
    assert found, "the quickstart states the first batch's counts"
    return dict(zip(("accepted", "needs_review", "failed"), map(int, found.groups()), strict=True))


def stated_version(text: str) -> int:
    found = re.search(r"\*\*version\s+(\d+)\*\*", text)
    assert found, "the quickstart states the policy version the PUT writes"
    return int(found.group(1))


@pytest.fixture
def walk(transactional_db: None, tmp_path: Path) -> Any:
    """Run the section; yields (completed process, its output folder); stops the service."""
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    env = worker_env(
        tmp_path / "media",
        tmp_path / "var",
        WEB_PORT=str(free_port(0)),
        FLOWER_PORT=str(free_port(0)),
        TMPDIR=str(tmp_path),
    )
    log = (tmp_path / "walk.log").open("wb")
    process = subprocess.Popen(
        ["bash", "-c", script(section())],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        process.wait(SCRIPT_SECONDS)
        yield process, tmp_path
    finally:
        stop_service(process)
        log.close()


def stop_service(process: subprocess.Popen[bytes]) -> None:
    """`make up` runs in the script's process group: SIGTERM reaches `manage.py serve`, which
    stops its children. They run in sessions of their own, so if serve dies before it has
    stopped them (killed after 30 s here), they would live on, on this test run's database and
    Redis, and take later tests' messages (CI saw that once): whatever of the service is still
    alive at the end is killed."""
    service = _process_tree(process.pid)
    try:
        _stop_group(process.pid)
    finally:
        for leftover in service:
            try:
                leftover.kill()
            except psutil.NoSuchProcess:
                pass


def _process_tree(session: int) -> list[psutil.Process]:
    """Every process of the script's session (bash, make, serve: the script may have ended
    while `make up` runs on) and their descendants."""
    found: list[psutil.Process] = []
    for candidate in psutil.process_iter():
        try:
            if os.getsid(candidate.pid) == session:
                found += [candidate, *candidate.children(recursive=True)]
        except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            pass
    return found


def _stop_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(group, signal.SIGKILL)


def output_folder(tmp_path: Path) -> Path:
    (folder,) = [p for p in tmp_path.glob("tmp.*") if (p / "results.json").exists()]
    return folder


@pytest.mark.e2e
def test_the_readme_quickstart_runs_as_written_and_its_outcomes_hold(walk: Any) -> None:
    process, tmp_path = walk
    log = (tmp_path / "walk.log").read_text(errors="replace")
    assert process.returncode == 0, log[-6000:]
    text = section()
    out = output_folder(tmp_path)

    # Steps 3-5: the bundled samples end as stated, each failure with its own reason.
    counts = json.loads((out / "completed.json").read_text())["counts"]
    assert {k: counts[k] for k in ("accepted", "needs_review", "failed")} == stated_counts(text)
    rows = json.loads((out / "results.json").read_text())["rows"]
    images = {row["image_id"]: row for row in rows}
    failed = Counter(row["reason"] for row in images.values() if row["status"] == "failed")
    assert failed == Counter({**dict.fromkeys(BROKEN, 1), "too_dark": 1})
    routed = [row for row in images.values() if row["status"] != "failed"]
    assert routed and {row["thresholds"] for row in routed} == {"calibrated"}
    with (out / "results.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(rows)

    # Step 6: registration printed what it found and said no thresholds were chosen.
    assert "registered: mine:1" in log and "format:     onnx" in log
    assert "thresholds: none chosen" in log

    # Step 7: the PUT wrote the stated, audited policy version.
    thresholds = json.loads((out / "thresholds.json").read_text())
    assert (thresholds["version"], thresholds["source"], thresholds["calibrated"]) == (
        stated_version(text),
        "manual",
        False,
    )
    policy = ThresholdPolicy.objects.get(is_active=True, facility__slug="dc-1")
    assert policy.created_by.startswith("api key quickstart (")

    # Step 8: the second batch went through the ONNX model under those thresholds.
    mine = json.loads((out / "mine.json").read_text())["rows"]
    validated = [row for row in mine if row["status"] != "failed"]
    assert validated and {(r["thresholds"], r["calibrated"]) for r in validated} == {
        ("manual", False)
    }
