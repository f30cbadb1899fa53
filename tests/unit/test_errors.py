"""The exception tree drawn in harness/errors.py is the real one, with each class's exit
status, so the diagram a reader trusts cannot drift from the code."""

from __future__ import annotations

import re

import harness.errors as errors
from harness.errors import ExitStatus, HarnessError

_ROW = re.compile(r"^    (?P<indent>[│ ]*(?:├── |└── )?)(?P<name>\w+Error)\s.*\((?P<status>\d+)\)$")


def _drawn() -> dict[str, tuple[str | None, int]]:
    """class name -> (parent drawn above it, status drawn after it)."""
    doc = errors.__doc__ or ""
    stack: list[str] = []
    found = {}
    for line in doc.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        depth = len(m["indent"]) // 4
        del stack[depth:]
        found[m["name"]] = (stack[-1] if stack else None, int(m["status"]))
        stack.append(m["name"])
    return found


def _real() -> dict[str, tuple[str | None, int]]:
    found = {}
    todo: list[type[HarnessError]] = [HarnessError]
    while todo:
        cls = todo.pop()
        parent = cls.__bases__[0].__name__ if cls is not HarnessError else None
        found[cls.__name__] = (parent, int(cls.exit_code))
        todo.extend(c for c in cls.__subclasses__() if c.__module__ == errors.__name__)
    return found


def test_the_drawn_tree_is_the_class_tree() -> None:
    assert _drawn() == _real()
    assert set(_real()) == {n for n in errors.__all__ if n.endswith("Error")}


def test_exit_statuses_are_distinct_where_ci_must_tell_them_apart() -> None:
    assert [int(s) for s in ExitStatus] == [0, 1, 2, 3, 4, 70, 130]
    assert errors.InfrastructureError.exit_code != errors.HarnessError.exit_code
    assert ExitStatus.INTERNAL not in {int(c[1]) for c in _real().values()}
