"""gunicorn settings and hooks (`gunicorn -c python:inspection.observability.gunicorn_conf`).

Logs: with LOG_FORMAT=json gunicorn's own lines (start-up, workers, access log) are JSON like the
rest (`logconfig_dict`); the access log then also goes to stdout without `--access-logfile`.

Workers: `gthread`, WEB_THREADS (8) threads each (below).

Request limits, checked by gunicorn before Django: a request line of at most 4094 bytes (else
414), at most 100 header fields (else 431), each at most 8190 bytes (else 431): an API key is
about 50 bytes and browsers keep cookies under 4 KB, so only abuse reaches them. Those answers
are JSON `{"code", "detail"}` (`gunicorn_errors`).

Metrics: the master clears the metrics folder at start and forgets each worker that exits. The
master never imports the metric definitions, so it writes no files of its own.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from inspection.observability import exporter, gunicorn_errors
from inspection.observability.logging import gunicorn_logconfig, is_json

LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
logconfig_dict = gunicorn_logconfig(LOG_FORMAT, os.environ.get("LOG_LEVEL", "INFO"))
if is_json(LOG_FORMAT):
    logging.captureWarnings(True)  # the master's warnings too, not only the workers' (Django)

# Worker model: threads, so a slow upload (a client on a poor link, a 512 MB batch) or a busy
# request holds one thread, never a whole worker: /healthz and the API keep answering beside it.
# What one request may cost the CPU is bounded in the service (services/submission.py). A worker
# silent for `timeout` seconds (its main loop, not a request) is replaced.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 60
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
gunicorn_errors.install()


def on_starting(server: Any) -> None:
    exporter.clear_stale_files()


def child_exit(server: Any, worker: Any) -> None:
    exporter.process_exited(worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    # gunicorn leaves the worker's copies of the listening sockets to the garbage collector,
    # which warns (ResourceWarning) while the interpreter shuts down, past logging: a text line.
    for listener in worker.sockets:
        listener.close()
