"""Argument types the lab's commands share (argparse `type=`): a bad value is refused by the
parser with one line naming it."""

from __future__ import annotations

import argparse


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value
