"""`manage.py revoke_api_key --prefix PREFIX | --name NAME`

Revokes one key by its prefix (the part of the key before the dot, shown in the admin's list;
the whole key works too), or every key with a name. Idempotent: a key that is already revoked is
reported and left as it is."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import QuerySet

from inspection.management.base import InspectionCommand
from inspection.models import ApiKey
from inspection.services.key_revocation import keys_by_name, keys_by_prefix, revoke


class Command(InspectionCommand):
    help = "Revoke integrator API keys: the API refuses them and their webhooks stop."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--prefix", help="The key's prefix (or the whole key).")
        which.add_argument("--name", help="Every key with this name.")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = list(self._keys(options).order_by("created_at"))
        if not keys:
            raise CommandError(f"No API key {self._described(options)}.")
        for key in keys:
            self.stdout.write(self._report(key, revoke(key)))

    def _keys(self, options: dict[str, Any]) -> QuerySet[ApiKey]:
        if options["prefix"] is not None:
            return keys_by_prefix(options["prefix"])
        return keys_by_name(options["name"])

    def _described(self, options: dict[str, Any]) -> str:
        if options["prefix"] is not None:
            return f"with prefix {options['prefix'].split('.', 1)[0]!r}"
        return f"named {options['name']!r}"

    def _report(self, key: ApiKey, revoked_now: bool) -> str:
        assert key.revoked_at is not None
        when = key.revoked_at.isoformat(timespec="seconds")
        if revoked_now:
            return f"Revoked API key {key} at {when}: it is refused and its webhooks stop."
        return f"API key {key} was already revoked at {when}; nothing changed."
