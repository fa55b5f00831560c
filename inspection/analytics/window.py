"""The time a chart covers: a period (`24h`, `7d`, `30d`, or any `<N>h` / `<N>d` up to 999)
ending at `until` (default now), cut into buckets of an hour (spans up to 7 days) or a day
(longer). The window starts on a bucket boundary, so every bucket but the last is whole; days
and hours are UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PERIOD_PATTERN = r"^[1-9][0-9]{0,2}[hd]$"
PERIODS = ("24h", "7d", "30d")
DEFAULT_PERIOD = "7d"
HOURLY_UP_TO = timedelta(days=7)
# Rates and means (noisy per hour) are drawn per day, except for windows this short.
HOURLY_TRENDS_UP_TO = timedelta(hours=48)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


class Bucket:
    HOUR = "hour"
    DAY = "day"


def period_span(period: str) -> timedelta:
    """`24h` -> 24 hours, `30d` -> 30 days (the pattern was checked by the caller)."""
    if not re.fullmatch(PERIOD_PATTERN, period):
        raise ValueError(f"not a period: {period!r}")
    amount = int(period[:-1])
    return timedelta(hours=amount) if period.endswith("h") else timedelta(days=amount)


def floor_to(moment: datetime, bucket: str) -> datetime:
    moment = moment.astimezone(UTC)
    hour = moment.replace(minute=0, second=0, microsecond=0)
    return hour if bucket == Bucket.HOUR else hour.replace(hour=0)


def step(bucket: str) -> timedelta:
    return timedelta(hours=1) if bucket == Bucket.HOUR else timedelta(days=1)


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    bucket: str
    period: str

    @classmethod
    def of(cls, period: str, until: datetime) -> Window:
        span = period_span(period)
        bucket = Bucket.HOUR if span <= HOURLY_UP_TO else Bucket.DAY
        start = until - span if until - EARLIEST > span else EARLIEST
        return cls(floor_to(start, bucket), until, bucket, period)

    def rebucket(self, bucket: str) -> Window:
        """The same period in other buckets (the start moves back to a bucket boundary)."""
        return Window(floor_to(self.since, bucket), self.until, bucket, self.period)

    def span(self) -> timedelta:
        return self.until - self.since

    def starts(self) -> list[datetime]:
        """The start of every bucket, oldest first."""
        out, at = [], self.since
        while at < self.until:
            out.append(at)
            if LATEST - at <= step(self.bucket):
                break
            at += step(self.bucket)
        return out

    def index(self) -> dict[datetime, int]:
        return {start: i for i, start in enumerate(self.starts())}

    def bucket_of(self, moment: datetime) -> datetime:
        return floor_to(moment, self.bucket)


def trend_window(window: Window) -> Window:
    """The window in daily buckets, or hourly ones when it is at most 48 hours long."""
    hourly = window.span() <= HOURLY_TRENDS_UP_TO
    return window.rebucket(Bucket.HOUR if hourly else Bucket.DAY)
