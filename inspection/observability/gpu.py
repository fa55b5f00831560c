"""GPU utilization and memory, read through NVML at scrape time. On a machine without an
NVIDIA driver the collector yields nothing (no zeros that would look like an idle GPU)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


def _nvml() -> Any | None:
    """pynvml after a successful nvmlInit, else None (no library, no driver, no device)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml
    except Exception as exc:  # ImportError, NVMLError_LibraryNotFound, ...
        logger.info("no GPU metrics: %s", exc)
        return None


class GpuCollector(Collector):
    def __init__(self) -> None:
        self._nvml = _nvml()

    def collect(self) -> Iterator[Metric]:
        if self._nvml is None:
            return
        util = GaugeMetricFamily(
            "inspection_gpu_utilization_ratio", "GPU busy fraction (0-1).", labels=["gpu"]
        )
        used = GaugeMetricFamily(
            "inspection_gpu_memory_used_bytes", "GPU memory in use.", labels=["gpu"]
        )
        total = GaugeMetricFamily(
            "inspection_gpu_memory_total_bytes", "GPU memory size.", labels=["gpu"]
        )
        for index in range(self._nvml.nvmlDeviceGetCount()):
            handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
            memory = self._nvml.nvmlDeviceGetMemoryInfo(handle)
            rates = self._nvml.nvmlDeviceGetUtilizationRates(handle)
            util.add_metric([str(index)], rates.gpu / 100)
            used.add_metric([str(index)], float(memory.used))
            total.add_metric([str(index)], float(memory.total))
        yield from (util, used, total)
