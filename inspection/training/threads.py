"""ultralytics' `select_device()` sets torch to `os.cpu_count() - 1` threads on the CPU: one
thread on a 2-core machine, which halves training, validation and prediction speed. The offline
tools (training, evaluation, calibration) own the whole machine, so they use every core again
after ultralytics has chosen its device."""

from __future__ import annotations

import os
from typing import Any


def use_all_cores(*_: Any) -> None:
    """Callable directly or as an ultralytics callback (which passes the trainer/validator)."""
    import torch

    threads = os.cpu_count() or 1
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
