"""Argument types for every subcommand: each checks its real range at parse time, so a bad
value is a usage error (exit 2) naming the option, before anything starts."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

__all__ = ["add_target", "count", "output_dir", "port", "seconds"]


def add_target(parser: argparse.ArgumentParser) -> None:
    """`--target SPEC`, the system under test, as run and fuzz take it."""
    parser.add_argument(
        "--target",
        default="sim",
        metavar="SPEC",
        help="system under test (default: sim); e.g. sim:mutant=lost-wakeup or lab:LAB.toml",
    )


def port(text: str) -> int:
    """A TCP port, 1..65535."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range; use 1-65535")
    return value


def seconds(text: str) -> float:
    """A duration in seconds: finite and positive."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} seconds: use a finite number greater than 0")
    return value


def count(text: str) -> int:
    """A whole number, at least 1."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: use a whole number of at least 1")
    return value


def output_dir(text: str) -> Path:
    """A directory to write into: one that exists, or one that can be created (no file in
    the way, neither at the path nor at any parent)."""
    path = Path(text)
    for each in (path, *path.parents):
        if each.exists():
            if not each.is_dir():
                where = "is" if each == path else f"cannot be created: {each} is"
                raise argparse.ArgumentTypeError(
                    f"{path} {where} not a directory; name a directory (or a new path)"
                )
            break
    return path
