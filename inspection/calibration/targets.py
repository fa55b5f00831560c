"""The precision each class's threshold is calibrated for: one default for every class, with
overrides by class name (say 0.8 for `damage`, when a facility would rather auto-accept more
damage findings at a lower precision than send them to review)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class TargetError(ValueError):
    """A precision target that cannot be used; the message says why."""


@dataclass(frozen=True)
class PrecisionTargets:
    default: float = 0.95
    per_class: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in {"default": self.default, **self.per_class}.items():
            _check_precision(name, value)

    def check_classes(self, class_names: Sequence[str]) -> None:
        """Every override must name one of the data set's classes."""
        unknown = sorted(set(self.per_class) - set(class_names))
        if unknown:
            raise TargetError(
                f"unknown class {', '.join(unknown)} (classes: {', '.join(class_names)})"
            )

    def by_id(self, class_names: Sequence[str]) -> dict[int, float]:
        """The target of each class id, for classes named in id order."""
        return {c: self.per_class.get(name, self.default) for c, name in enumerate(class_names)}

    def describe(self) -> str:
        """`0.95`, or `0.95 (damage 0.8)` with overrides."""
        extra = ", ".join(f"{name} {value}" for name, value in self.per_class.items())
        return f"{self.default} ({extra})" if extra else str(self.default)


def parse_class_target(text: str) -> tuple[str, float]:
    """`damage=0.8` -> ("damage", 0.8)."""
    name, sep, value = text.partition("=")
    if not sep:
        raise TargetError(f"{text!r}: expected CLASS=PRECISION, e.g. damage=0.8")
    try:
        return name.strip(), float(value)
    except ValueError as exc:
        raise TargetError(f"{text!r}: {value!r} is not a number") from exc


def targets_from_options(default: float, overrides: Sequence[str] | None) -> PrecisionTargets:
    """From `--target-precision` and repeated `--class-precision CLASS=P` options."""
    return PrecisionTargets(default, dict(parse_class_target(t) for t in overrides or ()))


def _check_precision(name: str, value: float) -> None:
    if not 0 < value <= 1:
        raise TargetError(f"precision target for {name} must be in (0, 1], got {value}")
