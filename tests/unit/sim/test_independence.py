"""The simulator implements the contract on its own: it shares no validation code with the
checker, so that an error in the checker's rules cannot hide behind the same error in the
model (it may share the vocabulary: record types, status values, the start context type)."""

from __future__ import annotations

import ast
from pathlib import Path

import harness.sim

CHECKER_RULES = {
    "harness.contract.check",
    "harness.contract.invariants",
    "harness.contract.startctx.create_status",
    "harness.contract.startctx.allowed_wait_statuses",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_simulator_imports_no_rule_of_the_checker() -> None:
    package = Path(harness.sim.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert len(modules) >= 7
    for module in modules:
        shared = {
            name
            for name in _imports(module)
            if any(name == rule or name.startswith(rule + ".") for rule in CHECKER_RULES)
        }
        assert not shared, f"{module.name} uses the checker's rules: {sorted(shared)}"
