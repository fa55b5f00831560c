"""The service under test: the database rows a run needs, and the real processes (gunicorn web,
cpu worker, inference worker) started with the demo's own commands."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.context import RunContext

FACILITY = "bench-dc"
LOAD_LINE = re.compile(r"model loaded: .*loads_in_process=(\d+) pid=(\d+)")


@dataclass(frozen=True)
class Setup:
    facility_id: int
    facility_slug: str
    api_key: str
    model_version_id: int
    input_size: int
    conf: float


def prepare_database(model_path: Path) -> Setup:
    """Migrate, then a facility with the model active under a uniform 0.5 policy, and a key."""
    from django.core.management import call_command

    from inspection.inference import registry

    call_command("migrate", verbosity=0)
    model = registry.register_model(model_path, name="bench", version=model_path.stem)
    return prepare_facility(FACILITY, "Benchmark DC", model.pk)


def prepare_facility(slug: str, name: str, model_version_id: int) -> Setup:
    """A facility with the model active under a uniform 0.5 policy, and an API key for it."""
    from inspection.models import ModelVersion, ThresholdSource
    from inspection.pipeline.policies import lowest_min_confidence
    from inspection.services.api_keys import issue_api_key
    from inspection.services.facilities import create_facility
    from inspection.services.policies import ThresholdChange, active_policy, save_policy_version

    model = ModelVersion.objects.get(pk=model_version_id)
    facility = create_facility(slug, name, model)
    # The policy defaults, named: routing is not what the bench measures.
    if active_policy(facility, None) is None:
        uniform = ThresholdChange(ThresholdSource.UNIFORM, default_threshold=0.5, note="bench")
        save_policy_version(facility, None, uniform, created_by="bench")
    _, raw = issue_api_key("bench", [facility])
    conf = lowest_min_confidence({facility.pk}, model.pk)
    return Setup(facility.pk, facility.slug, raw, model.pk, model.input_size, conf)


class Service:
    """Web + cpu worker + inference worker, one process each (the demo's layout)."""

    def __init__(self, context: RunContext) -> None:
        from inspection.demo import processes

        self._processes = processes
        self.log_dir = context.work_dir / "logs"
        self.group = processes.ProcessGroup(self.log_dir)
        self.port = processes.free_port(8765)

    @property
    def metrics_root(self) -> Path:
        """Where each process group writes its metrics (demo.processes.metrics_env)."""
        from django.conf import settings

        return Path(settings.VAR_DIR) / "metrics"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> None:
        self._processes.start_service(self.group, self.port, with_beat_and_flower=False)
        if problem := self._processes.wait_until_ready(self.group, self.port, timeout):
            raise RuntimeError(f"the service did not become ready: {problem}")

    def restart_web(self, extra_env: dict[str, str]) -> None:
        """A new web process with other settings (e.g. a low MAX_PENDING_IMAGES)."""
        old = self.group.children.pop("web")
        old.terminate()
        old.wait(30)
        env = {**self._processes.metrics_env("web"), **extra_env}  # its counters, as at start
        self.group.start("web", self._processes.web_command(self.port), env)
        if not self._processes.wait_for_port(self.port, 60):
            raise RuntimeError("web did not restart:\n" + self.group.log_tail("web"))

    def restart_inference(self, extra_env: dict[str, str], timeout: float = 180) -> None:
        """A new inference worker with other settings (e.g. the bench's fixed-boxes model)."""
        from inspection.pipeline.stages import INFERENCE_ROLE

        old = self.group.children.pop("inference-worker")
        old.terminate()
        old.wait(60)
        env = {
            "INSPECTION_WORKER_ROLE": INFERENCE_ROLE.name,
            **self._processes.metrics_env("inference-worker", self._processes.free_port(9809)),
            **extra_env,
        }
        self.group.start("inference-worker", self._processes.inference_worker_command(), env)
        if problem := self._processes.wait_until_ready(self.group, self.port, timeout):
            raise RuntimeError(f"the inference worker did not come back: {problem}")

    def stop(self) -> None:
        self.group.stop()

    def pids(self) -> set[int]:
        found: set[int] = set()
        for child in self.group.children.values():
            found |= {child.pid, *(p.pid for p in _children(child.pid))}
        return found

    def inference_pool_pid(self) -> int:
        """The pool process that holds the model (concurrency 1: the main worker's one child)."""
        main = self.group.children["inference-worker"]
        pool = _children(main.pid)
        if not pool:
            raise RuntimeError("the inference worker has no pool process")
        return pool[0].pid

    def model_loads(self) -> list[dict[str, int]]:
        """Every "model loaded" line of the inference worker's log."""
        text = (self.log_dir / "inference-worker.log").read_text(errors="replace")
        return [
            {"loads_in_process": int(match[1]), "pid": int(match[2])}
            for match in LOAD_LINE.finditer(text)
        ]

    def dead(self) -> list[str]:
        return self.group.dead()


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []


def rss_bytes(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def stop_quietly(service: Service | None) -> None:
    if service is None:
        return
    try:
        service.stop()
    except (OSError, subprocess.SubprocessError):
        pass
