"""Under pytest-xdist (`make test-fast` runs its tier on several workers) each worker gets a
Redis database of its own, as pytest-django gives each a PostgreSQL database of its own: tests
flush the test Redis database, count queue lengths and write heartbeats in it.

Loaded by pytest.ini (`-p tests.xdist_resources`) before pytest-django reads the settings,
which read REDIS_URL once; xdist names the worker in the environment before that. Outside a
worker (`make test`, one process) it changes nothing."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

REDIS_DATABASES = 16


def worker_redis_url(url: str, worker: str) -> str:
    """The URL's database for worker gw0, the one below for gw1, and so on (wrapping)."""
    index = int(worker.removeprefix("gw"))
    parts = urlsplit(url)
    database = int(parts.path.lstrip("/") or 0)
    return parts._replace(path=f"/{(database - index) % REDIS_DATABASES}").geturl()


def _give_this_worker_its_own_redis() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("REDIS_URL", "")
    if not worker or not url:
        return
    own = worker_redis_url(url, worker)
    if os.environ.get("CELERY_BROKER_URL") == url:
        os.environ["CELERY_BROKER_URL"] = own
    os.environ["REDIS_URL"] = own


_give_this_worker_its_own_redis()
