"""`manage.py create_api_key --name NAME --facility SLUG [--facility SLUG2] [--create-facility]
[--webhook-url URL]`

Prints the webhook signing secret and then the raw key once, the key as the last line of stdout,
so a script can capture it with `tail -n1`. Only the key's hash is stored; the secret is stored
as it is (signing needs it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.management.base import InspectionCommand
from inspection.services import DomainError
from inspection.services.api_keys import issue_api_key
from inspection.services.facilities import describe, facility_by_slug
from inspection.webhooks.masking import masked_url
from inspection.webhooks.targets import InvalidWebhookUrl, validate_webhook_url


class Command(InspectionCommand):
    help = "Create an integrator API key scoped to one or more facilities; prints it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Who the key is for.")
        parser.add_argument(
            "--facility", action="append", required=True, dest="facilities", metavar="SLUG"
        )
        parser.add_argument(
            "--create-facility", action="store_true", help="Create facilities that do not exist."
        )
        parser.add_argument(
            "--webhook-url",
            default="",
            help="Where completed and reviewed batches are announced (signed).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = list(dict.fromkeys(options["facilities"]))
        webhook_url = checked_webhook_url(options["webhook_url"].strip())
        try:
            facilities = [facility_by_slug(slug, options["create_facility"]) for slug in slugs]
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        key, raw = issue_api_key(options["name"], facilities, webhook_url)
        for facility in facilities:
            self.stdout.write(describe(facility))
        shown = masked_url(webhook_url) if webhook_url else "(none; batches may name their own)"
        self.stdout.write(f"Webhook URL: {shown}")
        self.stdout.write(f"Webhook signing secret (shown only once): {key.webhook_secret}")
        self.stdout.write(f"Created API key {key} for {', '.join(slugs)}. It is shown only once:")
        self.stdout.write(raw)


def checked_webhook_url(url: str) -> str:
    try:
        return validate_webhook_url(url) if url else ""
    except InvalidWebhookUrl as exc:
        raise CommandError(exc.detail) from None
