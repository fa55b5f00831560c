"""The offline tools (calibration here, the model lab's training and evaluation) own the whole
machine: they use every core, undoing ultralytics' one-fewer choice (see
`inspection.inference.threads`)."""

from __future__ import annotations

import os
from typing import Any

from inspection.inference.threads import set_torch_threads


def use_all_cores(*_: Any) -> None:
    """Callable directly or as an ultralytics callback (which passes the trainer/validator)."""
    set_torch_threads(os.cpu_count() or 1)
