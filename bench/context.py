"""Where a benchmark run keeps its state, and which database and broker it uses.

Everything is decided before Django is set up, because settings are read from the environment
at import time and every child process (web, workers) inherits the same environment.

- Embedded (no DATABASE_URL / REDIS_URL): SQLite and the filesystem broker inside the run's own
  folder, so nothing is shared with `manage.py demo` or the tests.
- PostgreSQL + Redis (the realistic configuration): the host and credentials of DATABASE_URL and
  REDIS_URL, but always the database `insp_bench` and Redis db 7 (overridable), which the run
  drops and flushes: it must never touch another developer's data.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB_NAME = "insp_bench"
BENCH_REDIS_DB = 7


@dataclass(frozen=True)
class RunContext:
    work_dir: Path
    database_url: str  # "" for the embedded SQLite
    redis_url: str  # "" for the embedded filesystem broker

    @property
    def mode(self) -> str:
        return "postgresql+redis" if self.database_url else "embedded (sqlite+filesystem broker)"

    @property
    def var_dir(self) -> Path:
        return self.work_dir / "var"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def make_context(work_dir: Path | None, db_name: str, redis_db: int) -> RunContext:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if bool(database_url) != bool(redis_url):
        raise SystemExit("set both DATABASE_URL and REDIS_URL, or neither (embedded defaults)")
    folder = work_dir or Path(tempfile.mkdtemp(prefix="inspection-bench-"))
    return RunContext(
        work_dir=folder.resolve(),
        database_url=with_database(database_url, db_name) if database_url else "",
        redis_url=with_redis_db(redis_url, redis_db) if redis_url else "",
    )


def export_environment(context: RunContext, overrides: dict[str, str]) -> None:
    """Point this process and its children at the run's folder, database and broker."""
    context.var_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "INSPECTION_VAR_DIR": str(context.var_dir),
        "MEDIA_ROOT": str(context.work_dir / "media"),
        "YOLO_CONFIG_DIR": str(context.work_dir / "ultralytics"),
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }
    if context.database_url:
        values |= {
            "DATABASE_URL": context.database_url,
            "REDIS_URL": context.redis_url,
            "CELERY_BROKER_URL": context.redis_url,
        }
    else:
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
            os.environ.pop(name, None)
    os.environ.update(values)
    os.chdir(ROOT)  # the worker commands run `-m celery -A config` from the repository root


def reset_backends(context: RunContext) -> None:
    """A fresh bench database (dropped and created) and an empty Redis db."""
    if not context.database_url:
        return
    _recreate_database(context.database_url)
    import redis

    redis.Redis.from_url(context.redis_url).flushdb()


def _recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = with_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def flush_redis(context: RunContext) -> None:
    if context.redis_url:
        import redis

        redis.Redis.from_url(context.redis_url).flushdb()
