"""`manage.py create_reviewer --username U --facility SLUG [--facility SLUG2] [--role reviewer]
[--password P] [--create-facility]`

Creates the user (or reuses an existing one) and gives it the role at each facility. A new user
without --password gets a random one, printed once as the last line of stdout."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from inspection.management.base import InspectionCommand
from inspection.models import FacilityMembership
from inspection.services import DomainError
from inspection.services.facilities import facility_by_slug


class Command(InspectionCommand):
    help = "Create a reviewer (session login) and give it a role at one or more facilities."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument(
            "--facility", action="append", required=True, dest="facilities", metavar="SLUG"
        )
        parser.add_argument(
            "--role",
            choices=FacilityMembership.Role.values,
            default=FacilityMembership.Role.REVIEWER,
        )
        parser.add_argument("--password", help="Set this password (default: keep / generate).")
        parser.add_argument(
            "--create-facility", action="store_true", help="Create facilities that do not exist."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            facilities = [
                facility_by_slug(slug, options["create_facility"])
                for slug in dict.fromkeys(options["facilities"])
            ]
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=options["username"])
            password = options["password"] or (secrets.token_urlsafe(12) if created else None)
            if password:
                user.set_password(password)
                user.save()
            for facility in facilities:
                FacilityMembership.objects.update_or_create(
                    user=user, facility=facility, defaults={"role": options["role"]}
                )
        where = ", ".join(facility.slug for facility in facilities)
        self.stdout.write(f"{user.get_username()} is {options['role']} at {where}.")
        if password and not options["password"]:
            self.stdout.write("Generated password (shown once):")
            self.stdout.write(password)
