"""`make demo`: run the whole service on this machine, push the bundled sample batch through the
REST API and real worker processes, and print what happened."""

from __future__ import annotations

import os
import time
import uuid
from io import TextIOBase
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command

from inspection.demo import processes
from inspection.demo.client import ApiClient
from inspection.demo.setup import DemoSetup, prepare
from inspection.models import Image

SAMPLES_DIR = Path(settings.BASE_DIR) / "samples" / "demo"
TERMINAL = tuple(str(status) for status in Image.TERMINAL)
# Web, workers, the model loaded and warmed up (about 15 s on 2 cores).
START_SECONDS = 180


def run_demo(
    out: TextIOBase, timeout: float, keep_running: bool, samples: Path = SAMPLES_DIR
) -> int:
    call_command("migrate", verbosity=0)
    setup = prepare()
    paths = sample_paths(samples)
    out.write(describe_setup(setup, samples, len(paths)))
    group = processes.ProcessGroup(Path(settings.VAR_DIR) / "demo" / "logs")
    web_port = processes.free_port(8000)
    # A local run: webhooks may point at a receiver on this machine (the children inherit it).
    os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")
    try:
        processes.start_service(group, web_port, with_beat_and_flower=keep_running)
        # Measure the pipeline, not start-up: the inference worker loads and warms its model.
        if problem := processes.wait_until_ready(group, web_port, START_SECONDS):
            out.write(f"The service did not become ready: {problem}\n")
            return 1
        client = ApiClient(f"http://127.0.0.1:{web_port}", setup.api_key)
        ok = submit_and_follow(out, client, setup, paths, timeout, group)
        out.write(urls(web_port, ok))
        if keep_running and ok:
            wait_forever(out, group)
        return 0 if ok else 1
    finally:
        group.stop()


def describe_setup(setup: DemoSetup, samples: Path, count: int) -> str:
    broker = settings.CELERY_BROKER_URL.split("@")[-1]
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return (
        f"Database: {database}   Broker: {broker}\n"
        f"Facility: {setup.facility_slug}   Model: {setup.model_label}\n"
        f"Samples: {count} files in {samples}\n"
    )


def sample_paths(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix != ".md")


def submit_and_follow(
    out: TextIOBase,
    client: ApiClient,
    setup: DemoSetup,
    paths: list[Path],
    timeout: float,
    group: processes.ProcessGroup,
) -> bool:
    started = time.monotonic()
    batch = client.submit(setup.facility_slug, paths, idempotency_key=str(uuid.uuid4()))
    out.write(f"Submitted batch {batch['id']} ({batch['counts']['total']} images): 202 Accepted\n")
    first_result: float | None = None
    last_line = ""
    while time.monotonic() - started < timeout:
        batch = client.batch(batch["id"])
        counts = batch["counts"]
        if first_result is None and sum(counts[s] for s in TERMINAL) > 0:
            first_result = time.monotonic() - started
        line = progress_line(counts)
        if line != last_line:
            out.write(f"  {time.monotonic() - started:6.1f}s  {line}\n")
            last_line = line
        if batch["status"] == "completed":
            break
        if dead := group.dead():
            out.write(f"Process(es) exited early: {dead}\n{group.log_tail(dead[0])}\n")
            return False
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    out.write(summary(client.images(batch["id"]), batch, elapsed, first_result))
    return bool(batch["status"] == "completed")


def progress_line(counts: dict[str, int]) -> str:
    keys = ("queued", "processing", "accepted", "needs_review", "failed")
    return "  ".join(f"{key}={counts[key]}" for key in keys) + f"  / {counts['total']}"


def summary(
    images: list[dict[str, Any]], batch: dict[str, Any], elapsed: float, first: float | None
) -> str:
    lines = ["", f"{'image':<28} {'status':<13} {'reason / review reasons':<40} boxes  ms"]
    for image in images:
        why = image["reason"] or ", ".join(image["review_reasons"])
        total_ms = image["timings"].get("total_ms", "")
        lines.append(
            f"{image['original_name'][:28]:<28} {image['status']:<13} {why[:40]:<40} "
            f"{len(image['detections']):>5}  {total_ms}"
        )
    done = sum(batch["counts"][s] for s in TERMINAL)
    lines.append("")
    lines.append(
        f"Batch {batch['status']}: {done}/{batch['counts']['total']} images in {elapsed:.1f}s "
        f"({done / elapsed:.2f} images/s); first result after "
        + (f"{first:.1f}s" if first is not None else "n/a")
    )
    return "\n".join(lines) + "\n"


def urls(web_port: int, ok: bool) -> str:
    base = f"http://127.0.0.1:{web_port}"
    state = "while it runs (`make up`, or `manage.py demo --keep-running`)"
    return (
        f"\nLook at {state}:\n"
        f"  API docs   {base}/api/v1/docs/\n"
        f"  Batches    {base}/api/v1/batches/   (header: Authorization: Api-Key <key>)\n"
        f"  Admin      {base}/admin/\n"
        f"  Flower     http://127.0.0.1:5555/\n"
        f"Worker and web logs: {Path(settings.VAR_DIR) / 'demo' / 'logs'}\n"
        + ("" if ok else "The batch did not complete in time: see the logs above.\n")
    )


def wait_forever(out: TextIOBase, group: processes.ProcessGroup) -> None:
    out.write("Service running; Ctrl-C stops it.\n")
    processes.wait_until_interrupted(group)
