"""Images submitted to host A's web over HTTP, as an integrator sends them, and the wait for
them, read from A's database (the web is not polled: its CPU belongs to the run)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.client import submit
from bench.multihost.postgres import HostPostgres

CHUNK = 100  # files per POST (MAX_FILES_PER_BATCH defaults to 200)
TERMINAL = ("accepted", "needs_review", "failed", "rejected")
NamedFile = tuple[str, bytes]


@dataclass
class Submitted:
    """What the web accepted: each batch with the file names sent in it, and when."""

    batches: dict[str, list[str]] = field(default_factory=dict)
    started: float = 0.0  # Unix time before the first POST
    upload_seconds: float = 0.0

    @property
    def batch_ids(self) -> list[str]:
        return list(self.batches)

    @property
    def uploads(self) -> int:
        return sum(len(names) for names in self.batches.values())


def submit_all(
    web_url: str, key: str, facility: str, files: list[NamedFile], chunk: int = CHUNK
) -> Submitted:
    submitted = Submitted(started=time.time())
    for start in range(0, len(files), chunk):
        group = files[start : start + chunk]
        form = [("images", item) for item in group]
        answer = submit(web_url, key, facility, form, str(uuid.uuid4()))
        if answer.status != 202:
            raise RuntimeError(f"submission answered {answer.status}: {answer.body}")
        submitted.batches[str(answer.body["id"])] = [name for name, _ in group]
    submitted.upload_seconds = time.time() - submitted.started
    return submitted


def finished(postgres: HostPostgres, batch_ids: list[str]) -> int:
    """Images of these batches in a terminal state."""
    rows = postgres.rows(
        "SELECT count(*) FROM inspection_image WHERE batch_id::text = ANY(%s) AND status = ANY(%s)",
        batch_ids,
        list(TERMINAL),
    )
    return int(rows[0][0])


def wait_finished(
    postgres: HostPostgres,
    submitted: Submitted,
    timeout: float,
    dead: Callable[[], list[str]] = list,
) -> float:
    """Until every batch completed; returns when the last did (Unix time, A's clock = ours)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if completed := last_completion(postgres, submitted.batch_ids):
            return completed
        if gone := dead():
            raise RuntimeError(f"service process(es) exited: {gone}")
        time.sleep(0.25)
    done = finished(postgres, submitted.batch_ids)
    raise RuntimeError(f"{done} of {submitted.uploads} images finished in {timeout:.0f}s")


def last_completion(postgres: HostPostgres, batch_ids: list[str]) -> float | None:
    """The last completion time once every batch completed, else None."""
    rows = postgres.rows(
        "SELECT count(completed_at), max(completed_at) FROM inspection_batch "
        "WHERE id::text = ANY(%s)",
        batch_ids,
    )
    count, last = rows[0]
    return float(last.timestamp()) if count == len(batch_ids) else None


def held_by(postgres: HostPostgres, node_suffix: str) -> list[str]:
    """Images whose claim a worker of the host holds (`leased_by` = `<node>/<pid>`)."""
    rows = postgres.rows(
        "SELECT id::text FROM inspection_image WHERE leased_by LIKE %s", f"%{node_suffix}/%"
    )
    return [row[0] for row in rows]


def still_held(postgres: HostPostgres, image_ids: list[str], node_suffix: str) -> int:
    rows = postgres.rows(
        "SELECT count(*) FROM inspection_image WHERE id::text = ANY(%s) AND leased_by LIKE %s",
        image_ids,
        f"%{node_suffix}/%",
    )
    return int(rows[0][0])


def last_finished(postgres: HostPostgres, image_ids: list[str]) -> float:
    """When the last of these images reached its final state (Unix time)."""
    rows = postgres.rows(
        "SELECT max(finished_at) FROM inspection_image WHERE id::text = ANY(%s)", image_ids
    )
    return float(rows[0][0].timestamp())


def rate(images: int, seconds: float) -> float:
    return round(images / seconds, 2) if seconds > 0 else 0.0


def timing(submitted: Submitted, completed: float) -> dict[str, Any]:
    seconds = completed - submitted.started
    return {
        "images": submitted.uploads,
        "upload_seconds": round(submitted.upload_seconds, 2),
        "seconds": round(seconds, 2),
        "images_per_s": rate(submitted.uploads, seconds),
    }
