"""ultralytics' `select_device()` sets torch to `os.cpu_count() - 1` threads on the CPU: one
thread on a 2-core machine, which halves prediction, validation and training speed. Whoever
owns a thread budget (an inference worker's setting, an offline tool's whole machine) sets it
again after ultralytics has chosen its device."""

from __future__ import annotations


def set_torch_threads(count: int) -> None:
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
