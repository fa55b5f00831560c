"""Rows into a model's table with PostgreSQL's COPY (hundreds of thousands a minute, where
INSERTs would take far longer). Every concrete field gets a value: the row's, else the field's
default; JSON fields are sent as jsonb."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.db import connection, models
from psycopg import sql
from psycopg.types.json import Jsonb


class TableCopy:
    """COPY for one model; `with_pk=False` leaves the primary key to its identity column."""

    def __init__(self, model: type[models.Model], with_pk: bool = True) -> None:
        self.fields = [
            field for field in model._meta.concrete_fields if with_pk or not field.primary_key
        ]
        self.table = model._meta.db_table
        self.json = {field.attname for field in self.fields if isinstance(field, models.JSONField)}
        self.defaults = {
            field.attname: field.get_default()
            for field in self.fields
            if not callable(field.default)
        }

    def statement(self) -> sql.Composed:
        # A concrete field always has a column (django-stubs types `column` optional for all).
        names = [cast(str, field.column) for field in self.fields]
        columns = sql.SQL(", ").join(sql.Identifier(name) for name in names)
        return sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(self.table), columns)

    def values(self, row: dict[str, Any]) -> list[Any]:
        out = []
        for field in self.fields:
            value = row[field.attname] if field.attname in row else self._default(field)
            out.append(Jsonb(value) if field.attname in self.json else value)
        return out

    def _default(self, field: models.Field) -> Any:
        if field.attname in self.defaults:
            return self.defaults[field.attname]
        return field.get_default()  # a callable default: a fresh value per row

    def write(self, rows: Iterable[dict[str, Any]]) -> int:
        count = 0
        with connection.cursor() as cursor, cursor.cursor.copy(self.statement()) as copy:
            for row in rows:
                copy.write_row(self.values(row))
                count += 1
        return count


def reserve_ids(model: type[models.Model], count: int) -> int:
    """The first of `count` consecutive ids nobody else will get (the identity sequence is
    moved past them); rows written with these ids can refer to each other."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return int(first)


def vacuum_analyze(models_: Iterable[type[models.Model]]) -> None:
    """Fresh planner statistics and visibility maps (index-only scans) after a bulk load; run
    outside a transaction."""
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(
                sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(model._meta.db_table))
            )
