"""`manage.py generate_dataset`: write a synthetic YOLO dataset (see lab/synthetic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.management.base import Database, InspectionCommand
from lab.synthetic import generate_dataset


def parse_split(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.split(",")]
    if len(parts) != 3 or any(p < 0 for p in parts) or sum(parts) <= 0:
        raise CommandError("--split takes three non-negative fractions, e.g. 0.8,0.1,0.1")
    return (parts[0], parts[1], parts[2])


class Command(InspectionCommand):
    help = "Generate a seeded synthetic dataset of warehouse parcel photos in YOLO format."
    database = Database.UNUSED

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="Output directory.")
        parser.add_argument("--count", type=int, default=1000, help="Number of images.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--split", default="0.8,0.1,0.1", help="train,val,test fractions.")

    def handle(self, *args: Any, **options: Any) -> None:
        summary = generate_dataset(
            options["out"],
            options["count"],
            options["seed"],
            parse_split(options["split"]),
            progress=self._progress,
        )
        self.stdout.write(
            f"Wrote {summary.count} images to {summary.out} {summary.per_split} "
            f"in {summary.seconds:.1f}s ({summary.images_per_second:.2f} images/s)"
        )

    def _progress(self, done: int, total: int) -> None:
        if done % 50 == 0 or done == total:
            self.stdout.write(f"  {done}/{total}")
