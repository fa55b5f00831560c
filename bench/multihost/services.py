"""What runs on each host, and the environment that points every process at host A over the
bridge: A's Redis, web and beat; the CPU and inference workers of B and C. The commands are the
demo's own (inspection/demo/processes.py), bound to the host's bridge address and with Celery
node names that say which host a worker is on (every namespace shares this machine's hostname,
so `%h` would name B's and C's workers alike)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from bench.context import ROOT
from bench.multihost.network import Host
from inspection.demo.processes import CELERY, web_command, worker_command
from inspection.pipeline.stages import CPU_ROLE, INFERENCE_ROLE

WEB_PORT = 8000
REDIS_PORT = 6379
# Each worker's metrics exporter, on its own host's address.
METRICS_PORTS = {CPU_ROLE.name: 9808, INFERENCE_ROLE.name: 9809}


@dataclass(frozen=True)
class Endpoints:
    """Host A's services as every other host reaches them."""

    database_url: str
    redis_url: str
    storage: dict[str, str]
    web_url: str


def host_environment(endpoints: Endpoints, folder: Path, host: Host) -> dict[str, str]:
    """A process on `host`: A's servers, and folders of the host's own (no disk is shared:
    originals, arrays and exports go to the object store; MEDIA_ROOT stays empty)."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": endpoints.database_url,
        "REDIS_URL": endpoints.redis_url,
        "CELERY_BROKER_URL": endpoints.redis_url,
        **endpoints.storage,
        "INSPECTION_VAR_DIR": str(folder / "var"),
        "MEDIA_ROOT": str(folder / "media"),
        "YOLO_CONFIG_DIR": str(folder / "ultralytics"),
        "ALLOWED_HOSTS": f"{host.ip},localhost,127.0.0.1",
        "WORKER_METRICS_ADDR": host.ip,
    }


def redis_command(host: Host, folder: Path) -> list[str]:
    """No persistence: the broker of a test cluster."""
    return [
        "redis-server", "--bind", host.ip, "--port", str(REDIS_PORT), "--protected-mode", "no",
        "--save", "", "--appendonly", "no", "--dir", str(folder),
    ]  # fmt: skip


def web_command_on(host: Host) -> list[str]:
    command = web_command(WEB_PORT)
    command[command.index("--bind") + 1] = f"{host.ip}:{WEB_PORT}"
    return command


def beat_command_on(folder: Path) -> list[str]:
    return [*CELERY, "-q", "beat", "-s", str(folder / "celerybeat-schedule"), "-l", "INFO"]


def worker_commands(host: Host, folder: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The host's CPU worker and inference worker (one process each), with their extra
    environment."""
    found = {}
    for role in (CPU_ROLE, INFERENCE_ROLE):
        command = worker_command(role.queue_arg, role.name)
        command[command.index("-n") + 1] = node_name(role.name, host)
        found[f"{role.name}-worker"] = (command, worker_environment(role.name, folder))
    return found


def worker_environment(role: str, folder: Path) -> dict[str, str]:
    values = {
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "var" / "metrics" / role),
        "WORKER_METRICS_PORT": str(METRICS_PORTS[role]),
    }
    if role == INFERENCE_ROLE.name:
        values["INSPECTION_WORKER_ROLE"] = INFERENCE_ROLE.name
    return values


def node_name(role: str, host: Host) -> str:
    return f"{role}@host-{host.name}"


def provision_command(arguments: list[str]) -> list[str]:
    return [sys.executable, "-m", "bench.multihost.provision", *arguments]
