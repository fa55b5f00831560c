"""What happened to each photo of the history: refused by a file or quality check, or detected
by the model and routed by the thresholds in force at the time, with the stage timings a worker
would have written. Routing goes through the pipeline's own `validation.decide`."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from inspection.analytics.history.traffic import Camera, hour_weight
from inspection.validation import Candidate, Policy, decide

WIDTH, HEIGHT = 1920, 1080


@dataclass(frozen=True)
class ClassProfile:
    """How often a class is on a photo and how sure the model is of it: Beta(alpha, beta)."""

    present: float
    alpha: float
    beta: float
    # Its confidence sinks over the history's last DRIFT_DAYS (new packaging, say).
    drifts: bool = False


# By class id: a parcel on nearly every photo and sure; a label on most, less sure; damage rare,
# unsure, and drifting. Tuned to the default model's calibrated thresholds (about one photo in
# ten goes to review). A model with more classes gets GENERIC for the rest.
PROFILES = (
    ClassProfile(0.97, 4.0, 1.3),
    ClassProfile(0.80, 3.0, 2.0),
    ClassProfile(0.10, 3.5, 3.0, drifts=True),
)
GENERIC = ClassProfile(0.05, 5.0, 3.0)
DRIFT_DAYS = 9
DRIFT_DEPTH = 0.45  # alpha falls by up to this share: the mean moves from ~0.54 to ~0.41

# Per photo: file and quality failures (before the model), then the dim dock at night and a
# camera whose uploads were cut off for six hours.
FAILURE_RATES = {
    "too_dark": 0.006,
    "too_bright": 0.002,
    "corrupt": 0.002,
    "truncated": 0.0015,
    "too_small": 0.001,
    "not_an_image": 0.0005,
    "empty_file": 0.0003,
}
DARK_NIGHT_RATE = 0.12
NIGHT_HOURS = frozenset({20, 21, 22, 23, 0, 1, 2, 3, 4, 5})
INCIDENT_RATE = 0.25


@dataclass(frozen=True)
class Incidents:
    """Two bad afternoons in the history: truncated uploads from one camera, and an inference
    worker down for 40 minutes (photos wait in the queue)."""

    truncated_camera: str
    truncated_from: datetime
    truncated_until: datetime
    outage_from: datetime
    outage_until: datetime

    @classmethod
    def before(cls, end: datetime) -> Incidents:
        day = end.replace(hour=0, minute=0, second=0, microsecond=0)
        truncated = day - timedelta(days=4) + timedelta(hours=10)
        outage = day - timedelta(days=2) + timedelta(hours=14)
        return cls(
            "sorter-a",
            truncated,
            truncated + timedelta(hours=6),
            outage,
            outage + timedelta(minutes=40),
        )


@dataclass(frozen=True)
class Box:
    class_id: int
    class_name: str
    confidence: float
    corners: tuple[float, float, float, float]
    accepted: bool = False


@dataclass
class Outcome:
    status: str
    reason: str = ""
    boxes: list[Box] = field(default_factory=list)
    review_reasons: list[str] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    finished_at: datetime | None = None

    @property
    def lowest_confidence(self) -> float | None:
        return min((box.confidence for box in self.boxes), default=None)


@dataclass(frozen=True)
class World:
    """What every photo's outcome depends on besides its time and camera."""

    class_names: list[str]
    incidents: Incidents
    end: datetime


def outcome(
    rng: random.Random, world: World, at: datetime, camera: Camera, rules: Policy
) -> Outcome:
    failure = failure_reason(rng, world.incidents, at, camera)
    if failure == "too_small":  # refused at upload, before any stage ran
        return Outcome("failed", failure, finished_at=at)
    if failure:
        preprocess = _lognormal(rng, 45, 0.3)
        timings = {"preprocess_ms": preprocess}
        return Outcome("failed", failure, timings=timings, finished_at=at + _ms(preprocess + 20))
    boxes = detections(rng, world, at)
    decision = decide([Candidate(box.class_name, box.confidence) for box in boxes], [], rules)
    kept = [replace(boxes[i], accepted=decision.accepted[i]) for i in decision.kept]
    timings = stage_timings(rng, world.incidents, at)
    finished = at + _ms(timings["total_ms"])
    return Outcome(decision.status, "", kept, decision.reasons, timings, finished)


def failure_reason(rng: random.Random, incidents: Incidents, at: datetime, camera: Camera) -> str:
    """A reason code, or "" for a photo that reaches the model."""
    if camera.dark_at_night and at.hour in NIGHT_HOURS and rng.random() < DARK_NIGHT_RATE:
        return "too_dark"
    cut_off = incidents.truncated_from <= at < incidents.truncated_until
    if cut_off and camera.name == incidents.truncated_camera and rng.random() < INCIDENT_RATE:
        return "truncated"
    draw = rng.random()
    for reason, rate in FAILURE_RATES.items():
        if draw < rate:
            return reason
        draw -= rate
    return ""


def detections(rng: random.Random, world: World, at: datetime) -> list[Box]:
    """The model's boxes on one photo, before routing (some fall below min_confidence)."""
    boxes = []
    for class_id, name in enumerate(world.class_names):
        profile = PROFILES[class_id] if class_id < len(PROFILES) else GENERIC
        if rng.random() < profile.present:
            boxes.append(Box(class_id, name, _confidence(rng, profile, world, at), _corners(rng)))
    return boxes


def _confidence(rng: random.Random, profile: ClassProfile, world: World, at: datetime) -> float:
    alpha = profile.alpha
    if profile.drifts:
        days_into_drift = DRIFT_DAYS - (world.end - at) / timedelta(days=1)
        alpha *= 1 - DRIFT_DEPTH * min(max(days_into_drift / DRIFT_DAYS, 0.0), 1.0)
    return round(rng.betavariate(alpha, profile.beta), 4)


def _corners(rng: random.Random) -> tuple[float, float, float, float]:
    width, height = rng.uniform(80, 900), rng.uniform(60, 700)
    x1, y1 = rng.uniform(0, WIDTH - width), rng.uniform(0, HEIGHT - height)
    return (round(x1, 1), round(y1, 1), round(x1 + width, 1), round(y1 + height, 1))


def stage_timings(rng: random.Random, incidents: Incidents, at: datetime) -> dict[str, Any]:
    """Milliseconds per stage as the workers write them: queue waits grow with the hour's load
    (steeply near capacity) and with the outage."""
    preprocess = _lognormal(rng, 45, 0.3)
    wait = 120 * (1 + 6 * hour_weight(at) ** 4) * math.exp(rng.gauss(0, 0.7))
    if incidents.outage_from <= at < incidents.outage_until:
        wait += (incidents.outage_until - at).total_seconds() * 1000
    inference = max(rng.gauss(62, 8), 30.0)
    validate = _lognormal(rng, 9, 0.3)
    total = preprocess + wait + inference + validate + _lognormal(rng, 35, 0.4)
    return {
        "preprocess_ms": preprocess,
        "queue_wait_ms": round(wait, 1),
        "inference_ms": round(inference, 1),
        "batch_size": rng.randint(1, 8),
        "validate_ms": validate,
        "total_ms": round(total, 1),
    }


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return round(median * math.exp(rng.gauss(0, sigma)), 1)


def _ms(milliseconds: float) -> timedelta:
    return timedelta(milliseconds=milliseconds)
