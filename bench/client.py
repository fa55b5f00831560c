"""HTTP submissions as an integrator makes them, keeping the raw answer (status, timing)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests


@dataclass(frozen=True)
class Answer:
    status: int
    seconds: float
    body: dict[str, Any]
    retry_after: str | None


def files_field(paths: list[Path]) -> list[tuple[str, tuple[str, bytes]]]:
    return [("images", (path.name, path.read_bytes())) for path in paths]


def submit(
    base_url: str, api_key: str, facility: str, files: list[Any], idempotency_key: str
) -> Answer:
    started = time.perf_counter()
    response = requests.post(
        f"{base_url}/api/v1/batches/",
        data={"facility": facility},
        files=files,
        headers={"Authorization": f"Api-Key {api_key}", "Idempotency-Key": idempotency_key},
        timeout=120,
    )
    seconds = time.perf_counter() - started
    try:
        body = response.json()
    except ValueError:
        body = {"text": response.text[:500]}
    return Answer(response.status_code, seconds, body, response.headers.get("Retry-After"))
