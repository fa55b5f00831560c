"""Host A's PostgreSQL: a cluster of its own (initdb as the `postgres` user), listening on A's
bridge address only, trusting the hosts of the bridge's /24 and nothing else."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.multihost.network import Host

PORT = 5432
DATABASE = "inspection"


def server_binary(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise SystemExit(f"{name} not found: install the PostgreSQL server (postgresql)")
    return str(found[-1])


@dataclass(frozen=True)
class HostPostgres:
    host: Host
    folder: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@{self.host.ip}:{PORT}/{database}"

    def start(self) -> None:
        """initdb, the bridge's hosts trusted, started and waited for, the database created."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)
        shutil.chown(self.folder, "postgres")
        self._as_postgres(server_binary("initdb"), "-D", str(self.data), "-A", "trust",
                          "-U", "postgres", "--no-sync")  # fmt: skip
        subnet = self.host.ip.rsplit(".", 1)[0] + ".0/24"
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {subnet} trust\n")
        options = f"-p {PORT} -k {self.folder} -c listen_addresses={self.host.ip}"
        self._as_postgres(server_binary("pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.folder / "server.log"), "-w", "start")  # fmt: skip
        self.execute(f"CREATE DATABASE {DATABASE}", database="postgres")

    def _as_postgres(self, *command: str) -> None:
        line = self.host.command("runuser", "-u", "postgres", "--", *command)
        done = subprocess.run(line, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command[:2])} failed: {done.stderr.strip()[-500:]}")

    def execute(self, sql: str, database: str = DATABASE) -> None:
        import psycopg

        with psycopg.connect(self._dsn(database), autocommit=True) as connection:
            connection.execute(sql)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self._dsn(DATABASE)) as connection:
            return list(connection.execute(sql, params).fetchall())

    def _dsn(self, database: str) -> str:
        return self.url(database).replace("postgres://", "postgresql://", 1)
