"""`manage.py create_api_key --name NAME --facility SLUG [--facility SLUG2] [--create-facility]`

Prints the raw key once, as the last line of stdout, so a script can capture it with
`tail -n1`. Only its hash is stored."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from inspection.models import ApiKey, Facility


class Command(BaseCommand):
    help = "Create an integrator API key scoped to one or more facilities; prints it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Who the key is for.")
        parser.add_argument(
            "--facility", action="append", required=True, dest="facilities", metavar="SLUG"
        )
        parser.add_argument(
            "--create-facility", action="store_true", help="Create facilities that do not exist."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = list(dict.fromkeys(options["facilities"]))
        with transaction.atomic():
            facilities = [facility_by_slug(slug, options["create_facility"]) for slug in slugs]
            key, raw = ApiKey.generate(options["name"])
            key.save()
            key.facilities.set(facilities)
        self.stdout.write(f"Created API key {key} for {', '.join(slugs)}. It is shown only once:")
        self.stdout.write(raw)


def facility_by_slug(slug: str, create: bool) -> Facility:
    if create:
        return Facility.objects.get_or_create(slug=slug, defaults={"name": slug})[0]
    try:
        return Facility.objects.get(slug=slug)
    except Facility.DoesNotExist:
        raise CommandError(f"No facility '{slug}' (add --create-facility to create it).") from None
