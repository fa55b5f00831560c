"""Management commands and the database (`inspection.management.base`): on an unmigrated or
unreachable database a command that needs it stops with one line saying what to do, and creates
nothing there; `serve` and `demo` migrate first; offline tools never connect.

Run as `manage.py` subprocesses against a fresh database of their own on the PostgreSQL server
(created empty, dropped afterwards)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.workers import ROOT, worker_database_url

pytestmark = pytest.mark.slow

MIGRATE_FIRST = "run `manage.py migrate` first"


def server_url(database: str) -> str:
    """A database of the server the tests run on."""
    return worker_database_url().rsplit("/", 1)[0] + f"/{database}"


def admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        server_url("postgres").replace("postgres://", "postgresql://"), autocommit=True
    )


@pytest.fixture
def fresh_database(db: None) -> Iterator[str]:
    """The URL of an empty database created for this test (and dropped after it)."""
    name = f"test_unmigrated_{uuid.uuid4().hex[:12]}"
    with admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url(name)
    finally:
        with admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tables_of(url: str) -> list[str]:
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return [str(row[0]) for row in rows]


def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(database_url, "manage.py", *args)


# A command of each kind, defined in the child itself (`serve` and `demo` start the service).
KIND_SCRIPT = """
import django
django.setup()
from django.core.management import call_command
from inspection.management.base import Database, InspectionCommand, unapplied_migrations

class Command(InspectionCommand):
    database = Database.{kind}

    def handle(self, *args, **options):
        self.stdout.write("handled")
        if self.database is Database.MIGRATES:
            self.stdout.write(f"unapplied: {{len(unapplied_migrations())}}")

call_command(Command())
"""


def run_kind(database_url: str, kind: str) -> subprocess.CompletedProcess[str]:
    return run(database_url, "-c", KIND_SCRIPT.format(kind=kind))


@pytest.mark.parametrize(
    "command",
    [
        ["redeliver_webhooks", "--failed"],
        ["revoke_api_key", "--prefix", "abcd1234"],
        # The integrator's first commands (README quick start).
        ["create_api_key", "--name", "n", "--facility", "dc-1", "--create-facility"],
        ["create_facility", "dc-1"],
        ["activate_model", "--facility", "dc-1", "--default"],
        ["set_thresholds", "--facility", "dc-1", "--default", "0.5"],
        ["register_model", "--path", "models/default.pt", "--name", "n", "--version", "1"],
        ["create_reviewer", "--username", "u", "--facility", "dc-1", "--create-facility"],
    ],
)
def test_a_command_on_an_unmigrated_database_says_to_migrate(
    fresh_database: str, command: list[str]
) -> None:
    result = manage(fresh_database, *command)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("CommandError: the database is not migrated (")
    assert line.endswith(MIGRATE_FIRST)
    assert "Traceback" not in result.stdout + result.stderr
    assert tables_of(fresh_database) == []  # it looked, and created nothing


def test_a_command_on_an_unreachable_database_says_so_in_one_line(fresh_database: str) -> None:
    missing = fresh_database.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:8]}"
    result = manage(missing, "redeliver_webhooks", "--failed")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("CommandError: cannot use the database (")
    assert line.endswith("check DATABASE_URL")


def test_a_service_command_migrates_the_database_first(fresh_database: str) -> None:
    result = run_kind(fresh_database, "MIGRATES")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["handled", "unapplied:", "0"]
    assert "inspection_batch" in tables_of(fresh_database)


def test_an_offline_command_never_touches_the_database(fresh_database: str) -> None:
    missing = fresh_database.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:8]}"
    result = run_kind(missing, "UNUSED")
    assert (result.returncode, result.stdout.strip()) == (0, "handled"), result.stderr


def test_a_command_on_a_migrated_database_runs(fresh_database: str) -> None:
    assert manage(fresh_database, "migrate", "-v0").returncode == 0
    result = manage(fresh_database, "redeliver_webhooks", "--failed")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Re-queued 0 failed")
