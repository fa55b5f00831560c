"""Which pool processes of this worker are ready to take tasks: a CPU process once it has
started, an inference process once its models are loaded and warmed up.

Celery says a worker is "ready" when its main process consumes, before a pool process may have
loaded anything; a model load takes seconds. So each pool process writes its pid into a small
table shared with the main process (created there before the pool forks) when it is ready, and
the main process's heartbeat reports the ready processes that are still alive. /readyz and
everything that waits for a started worker read that, never a log line.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.sharedctypes import SynchronizedArray

import psutil

# More than any pool's concurrency: a slot is reused once its process is gone.
SLOTS = 256

_table: SynchronizedArray[int] | None = None


def prepare() -> None:
    """In the worker's main process, before the pool forks (children inherit the table)."""
    global _table
    if _table is None:
        _table = multiprocessing.get_context("fork").Array("i", SLOTS)


def mark_ready() -> None:
    """In a pool process once it can take tasks. A slot whose process is gone is reused."""
    if _table is None:
        return
    pid = os.getpid()
    with _table.get_lock():
        slots = _table[:]
        if pid in slots:
            return
        for index, held in enumerate(slots):
            if held == 0 or not psutil.pid_exists(held):
                _table[index] = pid
                return


def ready_pids(alive: set[int]) -> set[int]:
    """The pool processes that said they are ready and are alive (empty outside a worker)."""
    if _table is None:
        return set()
    with _table.get_lock():
        return {pid for pid in _table[:] if pid and pid in alive}
