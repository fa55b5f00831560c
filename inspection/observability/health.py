"""Readiness checks: each returns a short detail or raises; `run_checks` times them all."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from inspection import storage
from inspection.observability import broker, heartbeat
from inspection.pipeline.stages import CPU_ROLE, INFERENCE_ROLE, WorkerRole


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail, "ms": self.ms}


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return f"{connection.vendor} answered"


def check_broker() -> str:
    return broker.ping(settings.CELERY_BROKER_URL)


def check_storage() -> str:
    """Write, read back and delete a tiny file: the pipeline needs all three. An object store
    that cannot be reached reads as the pipeline sees it (a ConnectionError)."""
    with storage.reachable():
        name = default_storage.save(f"health/{uuid.uuid4().hex}", ContentFile(b"ok"))
        try:
            with default_storage.open(name, "rb") as handle:
                if handle.read() != b"ok":
                    raise OSError("storage returned other bytes than written")
        finally:
            default_storage.delete(name)
    return "write, read and delete worked"


class WorkerNotReady(LookupError):
    pass


def check_workers(role: WorkerRole) -> str:
    """Some worker of the role beats and has a process ready to take tasks (an inference
    process: its models loaded and warmed up)."""
    beats = heartbeat.beats(role.name)
    if ready := sorted(node for node, beat in beats.items() if beat.ready):
        return ", ".join(ready)
    if beats:
        raise WorkerNotReady(f"{', '.join(sorted(beats))}: started, no process ready yet")
    raise WorkerNotReady(f"no {role.name} worker heartbeat in the last {heartbeat.TTL_SECONDS}s")


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
    "cpu_worker": partial(check_workers, CPU_ROLE),
    "inference_worker": partial(check_workers, INFERENCE_ROLE),
}


def run_check(name: str, check: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except Exception as exc:
        detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
    return CheckResult(name, ok, detail, round((time.perf_counter() - started) * 1000, 1))


def unknown_checks(names: list[str]) -> list[str]:
    return [name for name in names if name not in CHECKS]


def run_checks(only: list[str] | None = None) -> list[CheckResult]:
    """Every check, or the named ones (known names: see `unknown_checks`)."""
    return [run_check(name, CHECKS[name]) for name in only or CHECKS]
