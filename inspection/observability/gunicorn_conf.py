"""gunicorn hooks for multiprocess metrics (`gunicorn -c python:inspection.observability.
gunicorn_conf`): the master clears the metrics folder at start and forgets each worker that
exits. The master never imports the metric definitions, so it writes no files of its own."""

from __future__ import annotations

from typing import Any

from inspection.observability import exporter


def on_starting(server: Any) -> None:
    exporter.clear_stale_files()


def child_exit(server: Any, worker: Any) -> None:
    exporter.process_exited(worker.pid)
