"""The three-host cluster: build it, start A's services, provision, start workers on B and C,
wait for /readyz, kill a host, and take everything down again (also after a failure)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from bench.multihost import network, services
from bench.multihost.network import Host, Network
from bench.multihost.postgres import HostPostgres
from bench.multihost.seaweed import SeaweedServer
from inspection.demo.processes import ProcessGroup

HOSTS = ("a", "b", "c")
WORKER_HOSTS = ("b", "c")
READY_SECONDS = 240.0
# What a worker logs once per image it finished a stage for (pipeline/preprocess.py, infer.py).
WORK_LINES = {"preprocessed": "] preprocessed ", "inferred": "] inferred: "}


@dataclass(frozen=True)
class Options:
    facility: str = "multihost"
    model: str = "bundled-small"  # bench/multihost/provision.py
    input_size: int = 320
    # Settings every service process gets (INFERENCE_THREADS, WEBHOOK_ALLOW_PRIVATE_TARGETS...).
    settings: dict[str, str] = field(default_factory=dict)
    # Worker host -> CPU list for `taskset` (a host limited to its own cores), none: unpinned.
    cores: dict[str, str] = field(default_factory=dict)
    webhook_url: str = ""


@dataclass
class Provisioned:
    key: str
    facility: str
    model: str


class Cluster:
    def __init__(self, folder: Path, options: Options | None = None) -> None:
        self.folder = folder
        self.options = options or Options()
        self.net: Network | None = None
        self.groups: dict[str, ProcessGroup] = {}
        self.provisioned: Provisioned | None = None

    # --- the hosts -------------------------------------------------------------------------

    def host(self, name: str) -> Host:
        assert self.net is not None, "cluster not started"
        return self.net[name]

    @property
    def gateway(self) -> str:
        """This machine's address on the bridge (where a webhook receiver listens)."""
        assert self.net is not None, "cluster not started"
        return self.net.gateway

    @property
    def postgres(self) -> HostPostgres:
        return HostPostgres(self.host("a"), self.folder / "a" / "postgres")

    @property
    def seaweed(self) -> SeaweedServer:
        return SeaweedServer(self.folder / "a" / "seaweedfs", self.host("a").ip)

    @property
    def web_url(self) -> str:
        return f"http://{self.host('a').ip}:{services.WEB_PORT}"

    def endpoints(self) -> services.Endpoints:
        a = self.host("a")
        return services.Endpoints(
            database_url=self.postgres.url(),
            redis_url=f"redis://{a.ip}:{services.REDIS_PORT}/0",
            storage=self.seaweed.environment(),
            web_url=self.web_url,
        )

    def environment(self, name: str) -> dict[str, str]:
        folder = self.folder / name
        values = services.host_environment(self.endpoints(), folder, self.host(name))
        return {**values, **self.options.settings}

    # --- starting --------------------------------------------------------------------------

    def start(self) -> Cluster:
        """Network, then A: PostgreSQL, Redis, SeaweedFS, migrations and data, web, beat."""
        for folder in (self.folder, self.folder / "a"):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o755)  # PostgreSQL runs as `postgres` below
        self.net = network.build(HOSTS)
        a = self.host("a")
        self.start_process("a", "redis", services.redis_command(a, self.folder / "a"))
        self.start_process("a", "seaweedfs", self.seaweed.command())
        self.postgres.start()
        self.seaweed.create_bucket()
        self.provisioned = self.provision()
        self.start_process("a", "web", services.web_command_on(a), self._metrics("web"))
        self.start_process("a", "beat", services.beat_command_on(self.folder / "a" / "var"))
        return self

    def provision(self) -> Provisioned:
        arguments = [
            "--facility", self.options.facility, "--model", self.options.model,
            "--model-dir", str(self.folder / "models"), "--input-size",
            str(self.options.input_size), "--webhook-url", self.options.webhook_url,
        ]  # fmt: skip
        command = self.host("a").command(*services.provision_command(arguments))
        environment = {**os.environ, **self.environment("a")}
        done = subprocess.run(command, env=environment, capture_output=True, text=True,
                              timeout=300, check=False)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"provisioning on host A failed: {done.stderr.strip()[-2000:]}")
        return Provisioned(**json.loads(done.stdout.strip().splitlines()[-1]))

    def start_workers(self, name: str) -> list[str]:
        """The host's CPU and inference workers; returns their Celery node names."""
        host = self.host(name)
        for process, (command, extra) in services.worker_commands(host, self.folder / name).items():
            self.start_process(name, process, command, extra)
        return [services.node_name(role, host) for role in services.METRICS_PORTS]

    def start_process(
        self, name: str, process: str, command: list[str], extra: dict[str, str] | None = None
    ) -> None:
        group = self.groups.setdefault(name, ProcessGroup(self.folder / name / "logs"))
        pinned = ["taskset", "-c", cores] if (cores := self.options.cores.get(name)) else []
        line = self.host(name).command(*pinned, *command)
        group.start(process, line, {**self.environment(name), **(extra or {})})

    def _metrics(self, process: str) -> dict[str, str]:
        return {"PROMETHEUS_MULTIPROC_DIR": str(self.folder / "a" / "var" / "metrics" / process)}

    # --- readiness -------------------------------------------------------------------------

    def wait_ready(self, nodes: list[str], timeout: float = READY_SECONDS) -> dict[str, Any]:
        """Until A's /readyz answers 200 and lists every node as ready (a worker counts once a
        process of it can take tasks: an inference process once its model is warm)."""
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if dead := self.dead():
                raise RuntimeError(f"exited: {dead}\n{self.log_tail(dead[0])}")
            status, body = self.readyz()
            listed = " ".join(str(check.get("detail")) for check in body.get("checks", {}).values())
            if status == 200 and all(node in listed for node in nodes):
                return body
            time.sleep(0.5)
        raise RuntimeError(f"not ready in {timeout:.0f}s: {json.dumps(body)[:1500]}")

    def readyz(self) -> tuple[int, dict[str, Any]]:
        try:
            answer = requests.get(f"{self.web_url}/readyz", timeout=10)
            return answer.status_code, dict(answer.json())
        except (requests.RequestException, ValueError):
            return 0, {}

    def dead(self) -> list[str]:
        """Processes that exited (a killed host's are expected: ask only the others)."""
        return [f"{name}/{process}" for name, group in self.groups.items()
                for process in group.dead()]  # fmt: skip

    def work_done(self) -> dict[str, dict[str, int]]:
        """Per worker host, the images its workers preprocessed and inferred so far (their log
        lines; a killed host's logs stay on disk)."""
        done = {}
        for host in WORKER_HOSTS:
            text = "".join(
                path.read_text(errors="replace")
                for path in (self.folder / host / "logs").glob("*.log")
            )
            done[host] = {stage: text.count(line) for stage, line in WORK_LINES.items()}
        return done

    def worker_logs(self) -> list[Path]:
        """Every worker log of B and C, a killed host's included."""
        return sorted(
            path for host in WORKER_HOSTS for path in (self.folder / host / "logs").glob("*.log")
        )

    def log_tail(self, qualified: str, lines: int = 30) -> str:
        name, process = qualified.split("/", 1)
        return self.groups[name].log_tail(process, lines)

    def reaches(self, name: str, ip: str, port: int) -> bool:
        """Whether a process on host `name` can open a TCP connection to ip:port."""
        probe = f"import socket; socket.create_connection(({ip!r}, {port}), timeout=2).close()"
        line = self.host(name).command(sys.executable, "-c", probe)
        return subprocess.run(line, capture_output=True, timeout=30, check=False).returncode == 0

    # --- faults and the end ------------------------------------------------------------------

    def kill_host(self, name: str) -> list[int]:
        """kill -9 of every process on the host (what a host's power loss leaves behind)."""
        pids = self.host(name).kill_all()
        self.groups.pop(name, None)
        return pids

    def stop(self) -> None:
        """Every process of every host, the namespaces and the bridge; the run folder stays for
        its logs (remove_folder deletes it)."""
        if self.net is not None:
            network.teardown(self.net)
            self.net = None
        for group in self.groups.values():
            for child in group.children.values():
                child.poll()  # reap

    def remove_folder(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
