"""The report subsets of `evaluate_model`: images grouped by the capture problems the generator
recorded for them (blur covers motion and focus blur, and so on)."""

from __future__ import annotations

from collections.abc import Sequence

SUBSETS: dict[str, tuple[str, ...]] = {
    "blur": ("motion_blur", "focus_blur"),
    "dark": ("low_light",),
    "glare": ("glare",),
    "jpeg": ("heavy_jpeg",),
    "rotated": ("rotation",),
    "noise": ("noise",),
}
SUBSET_ORDER = ("all", "clean", *SUBSETS)


def subsets_of(problems: Sequence[str] | None) -> frozenset[str]:
    """`all`, and `clean` or the subsets of its problems; only `all` when none were recorded
    (a data set the generator did not write: an image there is not known to be clean)."""
    if problems is None:
        return frozenset({"all"})
    names = {name for name, members in SUBSETS.items() if set(members) & set(problems)}
    return frozenset({"all", *(names or {"clean"})})
