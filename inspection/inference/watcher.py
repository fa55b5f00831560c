"""A daemon thread that runs a check every few seconds inside an inference pool process: the
pool processes hold the models, and a Celery broadcast would reach only the main worker process,
so each process looks for itself. It has its own database connection (Django's are per thread),
reopened after a database outage, which it reports once rather than every tick."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import DatabaseError, close_old_connections, connection

logger = logging.getLogger(__name__)


class ModelWatcher(threading.Thread):
    def __init__(self, check: Callable[[], object], interval: float) -> None:
        super().__init__(name="model-watcher", daemon=True)
        self.check = check
        self.interval = interval
        self.ticks = 0
        self._stopped = threading.Event()
        self._failing = False

    def run(self) -> None:
        try:
            while not self._stopped.wait(self.interval):
                self.tick()
        finally:
            connection.close()

    def tick(self) -> None:
        close_old_connections()  # drops a connection an outage broke, so this tick reconnects
        try:
            self.check()
        except DatabaseError as exc:
            if not self._failing:
                logger.warning("model watcher: database unavailable, will retry: %s", exc)
            self._failing = True
        except Exception:
            logger.exception("model watcher: check failed")
        else:
            if self._failing:
                logger.info("model watcher: database back")
            self._failing = False
        self.ticks += 1

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        if self.is_alive():
            self.join(timeout)
