"""Looking at the broker from outside Celery: is it there, how deep is each queue.

Redis: Kombu keeps a queue as a list named after it, plus one list per priority step
(`<queue>:<n>`); the depth is the sum of their LLENs. Filesystem broker (embedded runs):
one `<...>.<queue>.msg` file per waiting message, so the depth is a file count. Any other
transport reports no depth rather than a guess.
"""

from __future__ import annotations

import json
from bisect import bisect
from collections.abc import Iterable
from pathlib import Path

import redis
from django.conf import settings
from kombu.transport.redis import PRIORITY_STEPS

PRIORITY_SEPARATOR = ":"  # config/celery_config.py sets it
TIMEOUT_SECONDS = 1.0


def is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


def is_filesystem(url: str) -> bool:
    return url.startswith("filesystem://")


def redis_client(url: str) -> redis.Redis:
    """A short-timeout client: a probe must answer fast even when Redis is gone."""
    return redis.Redis.from_url(
        url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )


def queue_folder() -> Path:
    return Path(settings.BROKER_DATA_DIR) / "queue"


def ping(url: str) -> str:
    """Raise when the broker cannot take messages; a short description when it can."""
    if is_redis(url):
        redis_client(url).ping()
        return "redis answered PING"
    if is_filesystem(url):
        folder = queue_folder()
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is missing")
        probe = folder / ".ready-probe"
        probe.write_bytes(b"")
        probe.unlink()
        return f"{folder} is writable"
    raise ValueError(f"no readiness probe for this broker ({url.split(':', 1)[0]})")


def queue_keys(queue: str) -> list[str]:
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


def queue_depths(url: str, queues: Iterable[str]) -> dict[str, int]:
    if is_redis(url):
        client = redis_client(url)
        return {queue: sum(client.llen(key) for key in queue_keys(queue)) for queue in queues}
    if is_filesystem(url):
        folder = queue_folder()
        return {queue: sum(1 for _ in folder.glob(f"*.{queue}.msg")) for queue in queues}
    return {}


def priority_key(queue: str, priority: int) -> str:
    """The Redis list a message of this priority waits in (kombu rounds down to a step)."""
    step = PRIORITY_STEPS[bisect(PRIORITY_STEPS, priority) - 1]
    return queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}"


def ready_messages(url: str, queue: str, priority: int, task: str) -> int | None:
    """Messages of one task waiting in a queue, not yet taken by a worker; None when this
    broker cannot tell. On Redis each (queue, priority) list holds one task's messages: the
    pipeline stages are laid out so (config/celery_config.py)."""
    if is_redis(url):
        return int(redis_client(url).llen(priority_key(queue, priority)))
    if is_filesystem(url):
        return sum(_task_of(path) == task for path in queue_folder().glob(f"*.{queue}.msg"))
    return None


def _task_of(path: Path) -> str:
    try:
        return str(json.loads(path.read_bytes())["headers"]["task"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
