"""`manage.py set_shadow --facility SLUG (--model-version ID|NAME:VERSION | --clear | --promote |
--rollback)`

Sets or clears a facility's shadow model (run on the same images after the active model, its
boxes stored apart and compared at /review/shadow/ and GET /api/v1/facilities/SLUG/shadow/),
promotes it, or rolls the last promotion back. Every change is audited (ModelChange)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.management.base import InspectionCommand
from inspection.management.commands.create_facility import model_version_or_error
from inspection.models import ModelChange
from inspection.services import DomainError, shadow
from inspection.services.facilities import facility_by_slug

AUTHOR = "manage.py set_shadow"


class Command(InspectionCommand):
    help = "Set, clear, promote or roll back a facility's shadow model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--facility", required=True, metavar="SLUG")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--model-version", metavar="ID|NAME:VERSION", help="The new shadow.")
        which.add_argument("--clear", action="store_true", help="Stop running the shadow.")
        which.add_argument("--promote", action="store_true", help="Make the shadow active.")
        which.add_argument("--rollback", action="store_true", help="Undo the last promotion.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            facility = facility_by_slug(options["facility"], create=False)
            change = self._change(facility, options)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(describe(change))

    def _change(self, facility: Any, options: dict[str, Any]) -> ModelChange:
        if options["clear"]:
            return shadow.clear_shadow(facility, by=AUTHOR)
        if options["promote"]:
            return shadow.promote(facility, by=AUTHOR)
        if options["rollback"]:
            return shadow.roll_back(facility, by=AUTHOR)
        model = model_version_or_error(options["model_version"])
        assert model is not None  # the option is given in this branch
        return shadow.set_shadow(facility, model, by=AUTHOR)


def describe(change: ModelChange) -> str:
    slug = change.facility.slug
    policy = f", thresholds policy v{change.policy.version}" if change.policy else ""
    return {
        ModelChange.Action.SHADOW_SET: f"{slug}: shadow model {change.model_version}.",
        ModelChange.Action.SHADOW_CLEARED: f"{slug}: no shadow model ({change.previous_model} "
        "no longer runs).",
        ModelChange.Action.PROMOTE: f"{slug}: {change.model_version} is the active model{policy} "
        f"(replacing {change.previous_model}; --rollback restores it).",
        ModelChange.Action.ROLLBACK: f"{slug}: back to {change.model_version}{policy}.",
    }[ModelChange.Action(change.action)]
