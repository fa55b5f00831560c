"""`manage.py simulate_field_loop [--images N] [--seed S] [--audit-share F] [--facility SLUG]
[--max-side PX] [--json OUT]`: the learning loop on synthetic field images whose truth is known
(lab/field_loop; docs/learning.md, "A run on synthetic field data")."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.management.base import InspectionCommand
from inspection.services import DomainError
from lab.field_loop.field import DEFAULT_SEED
from lab.field_loop.run import Options, simulate
from lab.field_loop.summary import as_json, as_text, summarize
from lab.management.arguments import positive


def share(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share in (0, 1]")
    return value


class Command(InspectionCommand):
    help = (
        "Run synthetic field images through a facility's pipeline, decide its audits from the "
        "generator's truth and print the precision report beside the true precision."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--images", type=positive, default=300)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Not 0-14 (used).")
        parser.add_argument("--audit-share", type=share, default=0.5)
        parser.add_argument("--facility", default="field-sim", metavar="SLUG")
        parser.add_argument(
            "--max-side", type=positive, help="Only frame sizes up to this long side."
        )
        parser.add_argument("--json", type=Path, metavar="OUT", help="Also write the numbers.")

    def handle(self, *args: Any, **options: Any) -> None:
        run_options = Options(
            options["images"],
            options["seed"],
            options["audit_share"],
            options["facility"],
            options["max_side"],
        )
        try:
            run = simulate(run_options, progress=self.stdout.write)
        except (DomainError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        rows = summarize(run)
        for line in as_text(run, rows):
            self.stdout.write(line)
        if options["json"]:
            options["json"].write_text(json.dumps(as_json(run, rows), indent=2) + "\n")
