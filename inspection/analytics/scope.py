"""What a chart is about: the facilities (one chosen, or all the caller may see), a camera or
all, and a time window. The page and the API build it from the same parameters."""

from __future__ import annotations

from dataclasses import dataclass

from inspection.analytics.window import PERIODS, Window
from inspection.models import Facility

PERIOD_WORDS = {"24h": "the last 24 hours", "7d": "the last 7 days", "30d": "the last 30 days"}


@dataclass(frozen=True)
class Scope:
    facilities: list[Facility]
    window: Window
    camera: str | None = None
    # The window ends now (no `until` given): read as "the last ...".
    ends_now: bool = True

    @property
    def facility_ids(self) -> list[int]:
        return [facility.pk for facility in self.facilities]

    def describe(self) -> str:
        """Where and when, in words: "dc-1, camera dock-2, in the last 7 days"."""
        where = ", ".join(facility.slug for facility in self.facilities) or "no facility"
        if self.camera is not None:
            where += f", camera {self.camera or '(none)'}"
        return f"{where}, in {self.period_words()}"

    def period_words(self) -> str:
        period = self.window.period
        if self.ends_now and period in PERIODS:
            return PERIOD_WORDS[period]
        amount, unit = int(period[:-1]), "hour" if period.endswith("h") else "day"
        span = f"{amount} {unit}{'s' if amount != 1 else ''}"
        if self.ends_now:
            return f"the last {span}"
        return f"the {span} to {self.window.until:%Y-%m-%d %H:%M} UTC"
