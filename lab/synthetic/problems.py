"""Which capture problems an image gets, in controlled proportions, with concrete parameters.

Sampling is separate from applying (`capture`), so the proportions can be checked without
rendering anything and every parameter can be written to the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Param = float | int | str
PROBLEMS = ("motion_blur", "focus_blur", "low_light", "glare", "noise", "heavy_jpeg", "rotation")


def _default_weights() -> dict[str, float]:
    return {name: 1.0 for name in PROBLEMS}


@dataclass(frozen=True)
class ProblemMix:
    """`clean`: share of images with no problem. The rest get one problem drawn by `weights`
    (normalised); a `combined` share of those also get a second, different one."""

    clean: float = 0.4
    weights: dict[str, float] = field(default_factory=_default_weights)
    combined: float = 0.3
    rot90_share: float = 0.4  # of rotations, how many are whole 90-degree camera turns

    def probabilities(self) -> dict[str, float]:
        total = sum(self.weights.values())
        return {name: w / total for name, w in self.weights.items() if w > 0}


@dataclass(frozen=True)
class Problem:
    name: str
    params: dict[str, Param]


def sample_problems(
    rng: np.random.Generator, mix: ProblemMix, width: int, height: int
) -> list[Problem]:
    if rng.random() < mix.clean:
        return []
    names = [_draw(rng, mix.probabilities(), exclude=None)]
    if rng.random() < mix.combined and len(mix.probabilities()) > 1:
        names.append(_draw(rng, mix.probabilities(), exclude=names[0]))
    return [Problem(name, sample_params(rng, name, mix, width, height)) for name in names]


def _draw(rng: np.random.Generator, probabilities: dict[str, float], exclude: str | None) -> str:
    names = [name for name in probabilities if name != exclude]
    weights = np.array([probabilities[name] for name in names])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def expected_rates(mix: ProblemMix) -> dict[str, float]:
    """The share of images expected to show each problem (and 'clean'), for checking runs."""
    p = mix.probabilities()
    rates = {"clean": mix.clean}
    for name, first in p.items():
        second = sum(q * first / (1 - q) for other, q in p.items() if other != name and q < 1)
        rates[name] = (1 - mix.clean) * (first + mix.combined * second)
    return rates


def sample_params(
    rng: np.random.Generator, name: str, mix: ProblemMix, width: int, height: int
) -> dict[str, Param]:
    """Concrete settings, in pixels where sizes matter, so the manifest says what was done."""
    long_side = max(width, height)
    if name == "motion_blur":
        return {
            "length": max(3, int(rng.uniform(0.012, 0.04) * long_side)),
            "angle": round(float(rng.uniform(0, 180)), 1),
        }
    if name == "focus_blur":
        return {"sigma": round(max(1.0, float(rng.uniform(0.003, 0.01) * long_side)), 2)}
    if name == "low_light":
        return {
            "gain": round(float(rng.uniform(0.08, 0.35)), 3),
            "noise": round(float(rng.uniform(4, 12)), 2),
        }
    if name == "glare":
        return _glare_params(rng, width, height)
    if name == "noise":
        return {"sigma": round(float(rng.uniform(8, 25)), 2)}
    if name == "heavy_jpeg":
        return {"quality": int(rng.integers(5, 26))}
    return _rotation_params(rng, mix)


def _glare_params(rng: np.random.Generator, width: int, height: int) -> dict[str, Param]:
    """A specular hot-spot (reflections off tape and shrink-wrap) plus overall wash-out."""
    return {
        "x": int(rng.uniform(0.15, 0.85) * width),
        "y": int(rng.uniform(0.15, 0.85) * height),
        "radius": int(rng.uniform(0.12, 0.3) * max(width, height)),
        "strength": round(float(rng.uniform(0.6, 1.3)), 3),
        "washout": round(float(rng.uniform(0.15, 0.5)), 3),
    }


def _rotation_params(rng: np.random.Generator, mix: ProblemMix) -> dict[str, Param]:
    if rng.random() < mix.rot90_share:
        return {"kind": "rot90", "turns": int(rng.choice([1, 3]))}  # clockwise quarter turns
    angle = float(rng.uniform(2, 10)) * float(rng.choice([-1, 1]))
    return {"kind": "tilt", "angle": round(angle, 2)}


ORDER = ("rotation", "focus_blur", "motion_blur", "glare", "low_light", "noise", "heavy_jpeg")


def in_capture_order(problems: list[Problem]) -> list[Problem]:
    """Geometry, then optics, then light, then the sensor, then compression: the order a
    camera introduces them."""
    return sorted(problems, key=lambda p: ORDER.index(p.name))
