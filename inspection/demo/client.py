"""A small HTTP client for the REST API, as an integrator would use it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests


@dataclass
class ApiClient:
    base_url: str
    api_key: str
    timeout: float = 30.0

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.api_key}"}

    def submit(self, facility: str, paths: list[Path], idempotency_key: str) -> dict[str, Any]:
        files = [("images", (path.name, path.read_bytes())) for path in paths]
        response = requests.post(
            f"{self.base_url}/api/v1/batches/",
            data={"facility": facility},
            files=files,
            headers={**self._headers(), "Idempotency-Key": idempotency_key},
            timeout=self.timeout,
        )
        response.raise_for_status()
        return dict(response.json())

    def batch(self, batch_id: str) -> dict[str, Any]:
        return self._get(f"/api/v1/batches/{batch_id}/")

    def images(self, batch_id: str) -> list[dict[str, Any]]:
        url: str | None = f"{self.base_url}/api/v1/batches/{batch_id}/images/"
        rows: list[dict[str, Any]] = []
        while url:
            page = requests.get(url, headers=self._headers(), timeout=self.timeout).json()
            rows.extend(page["results"])
            url = page.get("next")
        return rows

    def _get(self, path: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.base_url}{path}", headers=self._headers(), timeout=self.timeout
        )
        response.raise_for_status()
        return dict(response.json())
