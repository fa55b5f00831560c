"""Field images: the lab's generator at seeds the default model never saw, each with its
ground-truth boxes (original-image pixels, the geometry the service stores boxes in)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from lab.synthetic.dataset import generate_example
from lab.synthetic.parcels import CLASS_NAMES
from lab.synthetic.plan import DEFAULT_RESOLUTIONS, GeneratorConfig

# Seeds the default model's data used (models/MODEL_CARD.md): training stages 0 and 2-12 and 14,
# the held-out test sets 1 and 3, the stopped fine-tune 5 and the calibration set 13.
USED_SEEDS = frozenset(range(15))
DEFAULT_SEED = 2026


class SeedUsed(ValueError):
    """The seed's images were the model's training, test or calibration data."""


@dataclass(frozen=True)
class TrueBox:
    class_name: str
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class FieldImage:
    index: int
    name: str
    jpeg: bytes
    truths: tuple[TrueBox, ...]


def field_config(max_side: int | None) -> GeneratorConfig:
    """The generator's field mix (its defaults: the capture problems and scenes evaluation uses);
    `max_side` drops the frame sizes whose long side exceeds it (cheaper to render)."""
    if max_side is None:
        return GeneratorConfig()
    sizes = tuple(size for size in DEFAULT_RESOLUTIONS if max(size[:2]) <= max_side)
    if not sizes:
        smallest = min(max(size[:2]) for size in DEFAULT_RESOLUTIONS)
        raise ValueError(f"No frame size fits --max-side {max_side} (the smallest is {smallest}).")
    return replace(GeneratorConfig(), resolutions=sizes)


def check_seed(seed: int) -> None:
    if seed in USED_SEEDS:
        raise SeedUsed(
            f"Seed {seed} made the default model's training, test or calibration images "
            f"(seeds 0-14, models/MODEL_CARD.md); pick another, e.g. {DEFAULT_SEED}."
        )


def field_image(seed: int, index: int, config: GeneratorConfig) -> FieldImage | None:
    """Image `index` of the seed, or None for the rare one the generator cannot render (a
    `paste_label` on a tiny parcel face: skipped, as the training data skips it)."""
    try:
        example = generate_example(seed, index, config)
    except ValueError:
        return None
    truths = tuple(
        TrueBox(CLASS_NAMES[b.class_id], b.box.x1, b.box.y1, b.box.x2, b.box.y2)
        for b in example.boxes
    )
    return FieldImage(index, f"field_s{seed}_{index:06d}.jpg", example.jpeg(), truths)
