"""GPU metrics: read through NVML when a driver answers, nothing at all on a CPU-only machine
(no GPU was lent to this project's test runs, so NVML is faked for the GPU case)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from inspection.observability import gpu


class FakeNvml:
    def nvmlDeviceGetCount(self) -> int:  # noqa: N802 - NVML's names
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:  # noqa: N802
        return index

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:  # noqa: N802
        return SimpleNamespace(used=(handle + 1) * 2**30, total=80 * 2**30)

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:  # noqa: N802
        return SimpleNamespace(gpu=50 + handle * 25)


def samples(collector: gpu.GpuCollector) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels["gpu"]): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def test_each_gpu_reports_utilization_and_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu, "_nvml", FakeNvml)
    found = samples(gpu.GpuCollector())
    assert found[("inspection_gpu_utilization_ratio", "1")] == 0.75
    assert found[("inspection_gpu_memory_used_bytes", "0")] == 2**30
    assert found[("inspection_gpu_memory_total_bytes", "1")] == 80 * 2**30


def test_no_driver_means_no_gpu_series(monkeypatch: pytest.MonkeyPatch) -> None:
    import pynvml

    def no_driver() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", no_driver)
    assert samples(gpu.GpuCollector()) == {}
