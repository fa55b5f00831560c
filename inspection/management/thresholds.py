"""The threshold options shared by `set_thresholds` and `register_model`: `--class NAME=T`
(repeatable), `--default T`, `--thresholds-file FILE`, `--review-all`, read into one
ThresholdChange. The file is JSON: `{"damage": 0.6, "label": 0.4}`, or
`{"default": 0.5, "classes": {"damage": 0.6}}`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inspection.services.policies import InvalidThresholds, ThresholdChange


def add_threshold_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--class",
        action="append",
        dest="class_thresholds",
        default=[],
        metavar="NAME=T",
        help="A class's threshold, e.g. damage=0.6 (repeat).",
    )
    parser.add_argument(
        "--default",
        type=float,
        dest="default_threshold",
        metavar="T",
        help="The threshold of every class not named by --class.",
    )
    parser.add_argument(
        "--thresholds-file",
        type=Path,
        metavar="FILE",
        help='JSON: {"damage": 0.6, ...} or {"default": 0.5, "classes": {...}}.',
    )
    parser.add_argument(
        "--review-all",
        action="store_true",
        help="Accept nothing automatically: every image goes to review.",
    )


def given(options: dict[str, Any]) -> bool:
    return bool(
        options["class_thresholds"]
        or options["default_threshold"] is not None
        or options["thresholds_file"]
        or options["review_all"]
    )


def threshold_change(options: dict[str, Any], **fields: Any) -> ThresholdChange:
    classes, default = _from_file(options["thresholds_file"])
    classes |= dict(_pair(text) for text in options["class_thresholds"])
    if options["default_threshold"] is not None:
        default = options["default_threshold"]
    try:
        return ThresholdChange.of(classes, default, options["review_all"], **fields)
    except InvalidThresholds as exc:
        raise CommandError(exc.detail) from None


def _pair(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise CommandError(f"--class takes NAME=THRESHOLD, e.g. damage=0.6, not {text!r}") from None


def _from_file(path: Path | None) -> tuple[dict[str, float], float | None]:
    """`default` is the default; `classes` (an object) and every other key are classes, so
    `{"damage": 0.6, "default": 0.4}` means what it says and an unknown class is caught."""
    if path is None:
        return {}, None
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(loaded, dict):
        raise CommandError(f"{path}: expected a JSON object of class thresholds")
    nested = loaded.pop("classes", {})
    default = loaded.pop("default", None)
    if not isinstance(nested, dict):
        raise CommandError(f'{path}: "classes" must be an object of class thresholds')
    twice = sorted(set(nested) & set(loaded))
    if twice:
        raise CommandError(f"{path}: {', '.join(twice)} given twice (at the top and in classes)")
    return {**loaded, **nested}, default
