"""Switch the scenarios' own `assert` statements off, so only the checker judges a run.

`harness selftest` uses this to see whether the checker alone catches each mutant: on a real
kernel, and for any trace a user brings, the checker is the only judge. The scenario modules
are compiled with every `assert COND, MESSAGE` turned into a plain evaluation of COND: what
COND does (waiting for a condition, say) still happens, its answer is ignored, so each
scenario runs its whole program of actions and the checker's judgement of the trace is the
verdict. Preconditions outside the scenario modules (a create that must succeed) still hold.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import re
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType

__all__ = ["assertions_off", "assertions_on"]

_SCENARIO = re.compile(r"harness\.scenarios\.test_\w+")


class _Unchecked(ast.NodeTransformer):
    """`assert COND, MESSAGE` -> `COND`."""

    def visit_Assert(self, node: ast.Assert) -> ast.Expr:
        return ast.copy_location(ast.Expr(value=node.test), node)


class _Loader(importlib.machinery.SourceFileLoader):
    """Compiles from source with asserts unchecked, bypassing the bytecode cache."""

    def get_code(self, fullname: str) -> CodeType:
        tree = _Unchecked().visit(ast.parse(self.get_data(self.path), self.path))
        code: CodeType = compile(tree, self.path, "exec", dont_inherit=True)
        return code


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not _SCENARIO.fullmatch(fullname):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return None
        spec.loader = _Loader(fullname, spec.origin)
        return spec


_FINDER = _Finder()


def _forget() -> None:
    """Drop imported scenario modules, so the next import compiles them afresh."""
    for name in [n for n in sys.modules if _SCENARIO.fullmatch(n)]:
        del sys.modules[name]


def assertions_off() -> None:
    """From now on, scenario modules import without their assert statements."""
    _forget()
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def assertions_on() -> None:
    """Undo `assertions_off`."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    _forget()
