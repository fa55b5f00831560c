"""The training data recipe: the generator's scenes and problem mix, with frames capped at a
modest size. Ultralytics resizes every image to `imgsz` (416-640) anyway, so rendering 12 MP
frames would only cost time; problem sizes (blur length, glare radius) scale with the frame, so
the look of each problem is kept.

Two scene mixes: `field`, the generator's defaults (what evaluation uses), and `damage-focus`,
for training only: more damage, and more of it on white, grey and coloured board. The stage-4
model located most damage on every board (77-93 % at IoU 0.5), but at its calibrated threshold
it kept 51 % of the damage on kraft and 13 % on white or grey board (`evaluate_model`'s
damage-by-board rows, models/MODEL_CARD.md): it had seen too little damage on those boards to
be confident about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.synthetic.cardboard import BOARD_COLOURS, Weighted
from lab.synthetic.parcels import Decor
from lab.synthetic.plan import DEFAULT_RESOLUTIONS, GeneratorConfig
from lab.synthetic.scene import SceneOptions

MAX_TRAIN_SIDE = 800

# Weights for BOARD_COLOURS' entries in order: kraft x3, white mailer, grey-white, red, blue,
# yellow, green. The field mix is 64 % kraft, 22 % white/grey, 14 % coloured; this is 38/34/28.
_FOCUS_WEIGHTS = (0.20, 0.10, 0.08, 0.22, 0.12, 0.07, 0.07, 0.07, 0.07)
FOCUS_BOARDS: Weighted = tuple(
    (colour, weight) for (colour, _), weight in zip(BOARD_COLOURS, _FOCUS_WEIGHTS, strict=True)
)
SCENE_MIXES: dict[str, SceneOptions] = {
    "field": SceneOptions(),
    "damage-focus": SceneOptions(decor=Decor(damage_rate=0.8), boards=FOCUS_BOARDS),
}
# What a non-field recipe records about its mix (a field recipe records none: see describe()).
MIX_NOTES = {
    "damage-focus": "boards 38% kraft / 34% white or grey / 28% coloured, damage on 80% of "
    "parcels with a large face",
}


def capped(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The same aspect ratio with the long side at most `max_side` (even pixel counts)."""
    scale = min(1.0, max_side / max(width, height))
    return (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)


def training_resolutions(max_side: int = MAX_TRAIN_SIDE) -> tuple[tuple[int, int, float], ...]:
    """DEFAULT_RESOLUTIONS' aspect mix and weights, each capped at `max_side`."""
    return tuple((*capped(w, h, max_side), p) for w, h, p in DEFAULT_RESOLUTIONS)


def training_config(max_side: int = MAX_TRAIN_SIDE, mix: str = "field") -> GeneratorConfig:
    return GeneratorConfig(resolutions=training_resolutions(max_side), scene=SCENE_MIXES[mix])


@dataclass(frozen=True)
class DataRecipe:
    count: int
    seed: int
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    max_side: int = MAX_TRAIN_SIDE
    mix: str = "field"

    def describe(self) -> dict[str, Any]:
        # "generator" is the name recorded since the first recipes (the generator now lives in
        # lab.synthetic): kept, so generated folders and training records stay valid.
        described: dict[str, Any] = {
            "generator": "inspection.synthetic.generate_dataset",
            "count": self.count,
            "seed": self.seed,
            "split": list(self.split),
            "max_side": self.max_side,
            "resolutions": [list(r) for r in training_resolutions(self.max_side)],
            "problem_mix": "ProblemMix() defaults (40% clean, 30% of the rest combined)",
        }
        # Field recipes describe themselves as before, so their generated folders stay valid.
        if self.mix != "field":
            described["scene_mix"] = {"name": self.mix, "note": MIX_NOTES[self.mix]}
        return described
