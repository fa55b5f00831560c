"""The base of our management commands: each says what it needs of the database.

A command that reads or writes it (the default) first checks that every migration is applied
and otherwise stops with one line saying to run `manage.py migrate`, rather than a traceback
from its first query ("relation ... does not exist"). It does not migrate by itself: changing
the schema is an operator's decision (a deploy runs `migrate` once, before the new code), and a
maintenance command run against the wrong DATABASE_URL must not create tables there. Commands
that start the whole service on one machine (`serve`, `demo`) migrate first, as `make up` and
`make demo` promise; offline tools (data sets, training, evaluation) never connect.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor


class Database(StrEnum):
    REQUIRED = "required"  # stop unless every migration is applied
    MIGRATES = "migrates"  # apply the migrations first
    UNUSED = "unused"  # never connects


class InspectionCommand(BaseCommand):
    """Subclass this instead of BaseCommand; set `database` when it is not REQUIRED."""

    database = Database.REQUIRED

    def execute(self, *args: Any, **options: Any) -> Any:
        if self.database is Database.REQUIRED:
            require_migrated_database()
        elif self.database is Database.MIGRATES:
            call_command("migrate", verbosity=0, interactive=False)
        return super().execute(*args, **options)


def require_migrated_database(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Raise CommandError (one line) unless the database answers and is fully migrated."""
    try:
        missing = unapplied_migrations(alias)
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(f"cannot use the database ({first_line}); check DATABASE_URL") from None
    if missing:
        raise CommandError(
            f"the database is not migrated ({len(missing)} migration(s) not applied, the first "
            f"{missing[0]}): run `manage.py migrate` first"
        )


def unapplied_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
