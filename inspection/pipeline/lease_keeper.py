"""Keeping a worker's leases alive while it works. Each worker process has one daemon thread
that renews every lease the process holds, a few times per lease; when the process dies, its
leases end within PIPELINE_LEASE_SECONDS and the sweeper gives the work to someone else.

Stages register what they hold for as long as they hold it (`holding`). The thread starts in
worker processes only (`start`); elsewhere (tests, tools) nothing renews, which is fine for work
shorter than a lease."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections

from inspection.pipeline import claims

logger = logging.getLogger(__name__)

# Renewals per lease: a renewal can be late by two intervals before the lease runs out.
RENEWALS_PER_LEASE = 4

_held: dict[uuid.UUID, int] = {}
_lock = threading.Lock()
_thread: threading.Thread | None = None


@contextmanager
def holding(held: Iterable[claims.Claim]) -> Iterator[None]:
    tokens = [claim.token for claim in held]
    with _lock:
        for token in tokens:
            _held[token] = _held.get(token, 0) + 1
    try:
        yield
    finally:
        with _lock:
            for token in tokens:
                _held[token] -= 1
                if not _held[token]:
                    del _held[token]


def held_tokens() -> list[uuid.UUID]:
    with _lock:
        return list(_held)


def renew_once() -> int:
    return claims.renew(held_tokens())


def start() -> None:
    """In a worker process (after the fork): the renewing thread."""
    global _thread
    if _thread is None or not _thread.is_alive():
        _thread = threading.Thread(target=_run, name="lease-keeper", daemon=True)
        _thread.start()


def _run() -> None:
    interval = settings.PIPELINE_LEASE_SECONDS / RENEWALS_PER_LEASE
    stop = threading.Event()
    while not stop.wait(interval):
        try:
            renew_once()
        except Exception as exc:  # the database may be away for a while: try again next time
            logger.warning("could not renew leases: %r", exc)
            connections.close_all()
