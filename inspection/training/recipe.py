"""The training data recipe: the generator's default scene and problem mix, with frames capped
at a modest size. Ultralytics resizes every image to `imgsz` (416-640) anyway, so rendering
12 MP frames would only cost time; problem sizes (blur length, glare radius) scale with the
frame, so the look of each problem is kept."""

from __future__ import annotations

from dataclasses import dataclass

from inspection.synthetic.plan import DEFAULT_RESOLUTIONS, GeneratorConfig

MAX_TRAIN_SIDE = 800


def capped(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The same aspect ratio with the long side at most `max_side` (even pixel counts)."""
    scale = min(1.0, max_side / max(width, height))
    return (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)


def training_resolutions(max_side: int = MAX_TRAIN_SIDE) -> tuple[tuple[int, int, float], ...]:
    """DEFAULT_RESOLUTIONS' aspect mix and weights, each capped at `max_side`."""
    return tuple((*capped(w, h, max_side), p) for w, h, p in DEFAULT_RESOLUTIONS)


def training_config(max_side: int = MAX_TRAIN_SIDE) -> GeneratorConfig:
    return GeneratorConfig(resolutions=training_resolutions(max_side))


@dataclass(frozen=True)
class DataRecipe:
    count: int
    seed: int
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    max_side: int = MAX_TRAIN_SIDE

    def describe(self) -> dict[str, object]:
        return {"generator": "inspection.synthetic.generate_dataset", "count": self.count,
                "seed": self.seed, "split": list(self.split), "max_side": self.max_side,
                "resolutions": [list(r) for r in training_resolutions(self.max_side)],
                "problem_mix": "ProblemMix() defaults (40% clean, 30% of the rest combined)"}
