"""When images arrive: a distribution center's day (a busy early shift, a late shift, a quiet
night; a slower Saturday and a quieter Sunday), in batches of 8-40 photos from a few cameras."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# Relative arrivals per hour of the day (UTC is the site's clock here).
HOURLY_WEIGHT = (
    0.12, 0.10, 0.10, 0.10, 0.12, 0.25, 0.60, 1.00, 1.00, 0.95, 0.95, 0.90,
    0.85, 0.95, 1.00, 0.95, 0.90, 0.85, 0.80, 0.75, 0.60, 0.45, 0.30, 0.18,
)  # fmt: skip
WEEKDAY_WEIGHT = (1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.3)  # Monday first
BATCH_SIZES = (8, 40)
# Seconds between two photos of one batch (a camera's burst).
PHOTO_SPACING_S = 0.2


@dataclass(frozen=True)
class Camera:
    name: str
    share: float
    # A dim dock: at night many of its photos are too dark to use.
    dark_at_night: bool = False


CAMERAS = (
    Camera("dock-1", 0.35),
    Camera("dock-2", 0.25, dark_at_night=True),
    Camera("sorter-a", 0.25),
    Camera("outbound", 0.15),
)


@dataclass(frozen=True)
class PlannedBatch:
    created_at: datetime
    camera: Camera
    size: int

    def photo_times(self) -> list[datetime]:
        return [self.created_at + timedelta(seconds=i * PHOTO_SPACING_S) for i in range(self.size)]


def hour_starts(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(minute=0, second=0, microsecond=0)
    return [first + timedelta(hours=i) for i in range(int((end - first) / timedelta(hours=1)) + 1)]


def hour_weight(hour: datetime) -> float:
    return HOURLY_WEIGHT[hour.hour] * WEEKDAY_WEIGHT[hour.weekday()]


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights`, whole numbers that add up exactly (largest
    remainders get the rest)."""
    scale = total / sum(weights)
    shares = [weight * scale for weight in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    return counts


def plan_batches(
    rng: random.Random, start: datetime, end: datetime, images: int
) -> list[PlannedBatch]:
    """Batches whose sizes add up to `images`, every photo taken in [start, end)."""
    hours = hour_starts(start, end)
    usable = [_usable_seconds(hour, start, end) for hour in hours]
    weights = [hour_weight(hour) * seconds for hour, seconds in zip(hours, usable, strict=True)]
    batches: list[PlannedBatch] = []
    for hour, seconds, count in zip(hours, usable, apportion(images, weights), strict=True):
        batches.extend(_batches_in_hour(rng, max(hour, start), seconds, count))
    return sorted(batches, key=lambda batch: batch.created_at)


def _usable_seconds(hour: datetime, start: datetime, end: datetime) -> float:
    return max((min(hour + timedelta(hours=1), end) - max(hour, start)).total_seconds(), 0.0)


def _batches_in_hour(
    rng: random.Random, begin: datetime, seconds: float, count: int
) -> list[PlannedBatch]:
    batches = []
    while count > 0:
        size = min(rng.randint(*BATCH_SIZES), count)
        # The whole burst fits before the hour (or the history) ends.
        room = max(seconds - size * PHOTO_SPACING_S - 1, 0.0)
        at = begin + timedelta(seconds=rng.uniform(0, room))
        batches.append(PlannedBatch(at, _camera(rng), size))
        count -= size
    return batches


def _camera(rng: random.Random) -> Camera:
    return rng.choices(CAMERAS, weights=[camera.share for camera in CAMERAS])[0]
