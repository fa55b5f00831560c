"""Generator settings and the per-image plan drawn from them: scene kind, resolution, capture
problems and JPEG quality."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import gcd
from typing import TypeVar

import numpy as np

from lab.synthetic.problems import Problem, ProblemMix, sample_problems
from lab.synthetic.scene import SceneOptions

T = TypeVar("T")

# (width, height, weight). Mostly phone/IP-camera sizes; 12 MP is rare because it costs ~20x a
# VGA frame to render; portrait sizes stand for phones held upright.
DEFAULT_RESOLUTIONS: tuple[tuple[int, int, float], ...] = (
    (640, 480, 0.16),
    (800, 600, 0.08),
    (1024, 768, 0.14),
    (1280, 720, 0.12),
    (1280, 960, 0.12),
    (1366, 768, 0.04),
    (1600, 1200, 0.05),
    (1920, 1080, 0.06),
    (2592, 1944, 0.02),
    (4000, 3000, 0.02),
    (480, 640, 0.06),
    (720, 1280, 0.06),
    (750, 1000, 0.03),
    (1080, 1920, 0.02),
    (3000, 4000, 0.01),
)
# For tests: tiny frames in both orientations render in milliseconds.
TINY_RESOLUTIONS: tuple[tuple[int, int, float], ...] = ((160, 120, 0.5), (120, 160, 0.5))
DEFAULT_SCENES: tuple[tuple[str, float], ...] = (
    ("conveyor", 0.4),
    ("floor", 0.35),
    ("shelves", 0.25),
)
ASPECTS = {
    "4:3": 4 / 3,
    "3:4": 3 / 4,
    "16:9": 16 / 9,
    "9:16": 9 / 16,
    "3:2": 3 / 2,
    "2:3": 2 / 3,
    "1:1": 1.0,
}


@dataclass(frozen=True)
class GeneratorConfig:
    resolutions: tuple[tuple[int, int, float], ...] = DEFAULT_RESOLUTIONS
    scenes: tuple[tuple[str, float], ...] = DEFAULT_SCENES
    mix: ProblemMix = field(default_factory=ProblemMix)
    scene: SceneOptions = field(default_factory=SceneOptions)
    clean_quality: tuple[int, int] = (80, 95)  # JPEG quality when heavy_jpeg is not chosen
    min_box_side: float = 0.01  # boxes thinner than this share of the short side are dropped
    min_visible: float = 0.5  # boxes with less than this share inside the frame are dropped


@dataclass(frozen=True)
class ImagePlan:
    kind: str
    width: int  # of the rendered scene, before any 90-degree turn
    height: int
    problems: list[Problem]
    quality: int


def plan_image(rng: np.random.Generator, config: GeneratorConfig) -> ImagePlan:
    kind = _weighted(rng, config.scenes)
    width, height = _weighted(rng, [((w, h), p) for w, h, p in config.resolutions])
    problems = sample_problems(rng, config.mix, width, height)
    quality = next((int(p.params["quality"]) for p in problems if p.name == "heavy_jpeg"), None)
    if quality is None:
        quality = int(rng.integers(config.clean_quality[0], config.clean_quality[1] + 1))
    return ImagePlan(kind, width, height, problems, quality)


def _weighted(rng: np.random.Generator, options: Sequence[tuple[T, float]]) -> T:
    weights = np.array([w for _, w in options], float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def aspect_name(width: int, height: int) -> str:
    """The familiar name of an aspect ratio (1366x768 is '16:9'), else the reduced ratio."""
    ratio = width / height
    name, value = min(ASPECTS.items(), key=lambda item: abs(item[1] - ratio))
    if abs(value - ratio) / value < 0.02:
        return name
    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"
