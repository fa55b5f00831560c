"""Worker heartbeats: each Celery worker's main process refreshes a key with a time-to-live;
readiness asks "has any worker of the role a fresh key with a ready process?". A beat says when
it was taken, which processes of the worker are alive (the main process and its pool), so the
sweeper can tell a claim whose process died (the pool replaced it) from one still at work, and
which of them are ready to take tasks (`process_ready`: an inference process has loaded its
models).

Why not `app.control.ping`: a broadcast needs a fanout exchange (the filesystem broker has
none), and a ping waits its whole timeout for stragglers on every probe. A heartbeat costs one
SET every few seconds per worker and one SCAN per probe. It lives in the broker's Redis (so it
works wherever the workers can reach the broker) or, with the filesystem broker (one host by
design), as files whose mtime is the beat.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil
from django.conf import settings

from inspection.observability import broker, process_ready

logger = logging.getLogger(__name__)

KEY_PREFIX = "inspection:heartbeat"
INTERVAL_SECONDS = 5.0
# Three missed beats and the worker counts as gone.
TTL_SECONDS = 15


def _key(role: str, node: str) -> str:
    return f"{KEY_PREFIX}:{role}:{node}"


def _folder(role: str) -> Path:
    return Path(settings.BROKER_DATA_DIR) / "heartbeats" / role


@dataclass(frozen=True)
class Beat:
    at: float  # Unix seconds, the worker host's clock
    pids: frozenset[int]
    ready: frozenset[int] = frozenset()  # the pool processes ready to take tasks


def beat(
    role: str,
    node: str,
    ttl: int = TTL_SECONDS,
    pids: Iterable[int] = (),
    ready: Iterable[int] = (),
) -> None:
    url = settings.CELERY_BROKER_URL
    value = json.dumps(
        {"at": time.time(), "ttl": ttl, "pids": sorted(pids), "ready": sorted(ready)}
    )
    if broker.is_redis(url):
        broker.redis_client(url).set(_key(role, node), value, ex=ttl)
    else:
        folder = _folder(role)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / node).write_text(value)


def _parsed(value: bytes | str) -> Beat:
    try:
        loaded = json.loads(value)
        return Beat(
            float(loaded["at"]),
            frozenset(int(pid) for pid in loaded.get("pids", ())),
            frozenset(int(pid) for pid in loaded.get("ready", ())),
        )
    except (ValueError, KeyError, TypeError):
        return Beat(time.time(), frozenset())


def beats(role: str, url: str = "") -> dict[str, Beat]:
    """Each fresh node's last beat (raises when the broker cannot be read); `url`: another
    broker than this process's."""
    url = url or settings.CELERY_BROKER_URL
    if broker.is_redis(url):
        client = broker.redis_client(url)
        prefix = _key(role, "")
        keys = list(client.scan_iter(match=f"{prefix}*", count=100))
        values = client.mget(keys) if keys else []
        return {
            key.decode()[len(prefix) :]: _parsed(value)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }
    return {node: _parsed((_folder(role) / node).read_text()) for node in alive(role)}


def process_ids() -> set[int]:
    """This process and its children (a prefork worker's pool)."""
    me = psutil.Process()
    return {me.pid, *(child.pid for child in me.children())}


def forget(role: str, node: str) -> None:
    url = settings.CELERY_BROKER_URL
    if broker.is_redis(url):
        broker.redis_client(url).delete(_key(role, node))
    else:
        (_folder(role) / node).unlink(missing_ok=True)


def alive(role: str) -> list[str]:
    """Node names whose beat is fresh (raises when the broker cannot be read)."""
    url = settings.CELERY_BROKER_URL
    if broker.is_redis(url):
        prefix = _key(role, "")
        keys = broker.redis_client(url).scan_iter(match=f"{prefix}*", count=100)
        return sorted(key.decode()[len(prefix) :] for key in keys)
    folder = _folder(role)
    now = time.time()
    files = folder.glob("*") if folder.is_dir() else []
    return sorted(p.name for p in files if now - p.stat().st_mtime < _file_ttl(p))


def _file_ttl(path: Path) -> int:
    try:
        return int(json.loads(path.read_text()).get("ttl", 0))
    except (OSError, ValueError, AttributeError):
        return 0


class Heartbeat:
    """A daemon thread that beats until stopped; a broker outage only skips beats."""

    def __init__(self, role: str, node: str, interval: float = INTERVAL_SECONDS) -> None:
        self.role, self.node, self.interval = role, node, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.interval + 2)
        try:
            forget(self.role, self.node)
        except Exception:
            logger.warning("could not remove the heartbeat of %s", self.node)

    def _run(self) -> None:
        ttl = max(TTL_SECONDS, int(self.interval * 3))
        while not self._stop.is_set():
            try:
                alive = process_ids()
                beat(self.role, self.node, ttl, alive, process_ready.ready_pids(alive))
            except Exception as exc:
                logger.warning("heartbeat skipped: %r", exc)
            self._stop.wait(self.interval)
