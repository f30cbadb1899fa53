"""Reading a plan file: TOML decoded once, every field checked, every name it uses resolved,
every target and build it names found; a bad plan is one message naming the file, the field
and the fix (`plan.toml: field cells[0].targets: unknown target 'x'; fix: ...`)."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from harness.errors import ConfigError, HarnessError
from harness.files import read_regular
from harness.plan.model import Plan

__all__ = ["LoadedPlan", "load_plan", "parse_plan"]

_LIMIT = 1 << 20
_DOCS = "see docs/nightly.md"
# how to fix a field, by its last name (cells[3].repeat -> repeat)
_FIXES = {
    "name": "use 1-64 letters, digits, '_', '.' or '-'",
    "targets": 'name targets from [targets], e.g. targets = ["sim"]',
    "builds": 'name builds from [builds], e.g. builds = ["model"]',
    "selections": 'name selections from [selections], e.g. selections = ["all"]',
    "conventions": "use documented, inverted or target",
    "repeat": "use a whole number from 1 to 10000",
    "required": "use true or false",
    "cells": "add at least one [[cells]] table with targets and builds",
    "manifest": "point it at a driver manifest.json (make -C drivers writes one)",
    "store": "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
    "runs": "use a directory path",
    "seed": "use a whole number from 0 to 2147483648",
    "parallel": "use a whole number from 1 to 256",
    "retries": "use a whole number from 0 to 10",
    "signoff_runs": "use a whole number from 1 to 1000",
}


class LoadedPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A checked plan, where it came from, and its text's hash (a run records which plan it
    ran)."""

    plan: Plan
    path: str
    digest: str

    @property
    def base(self) -> Path:
        return Path(self.path).parent


def _explain(message: str, source: str) -> str:
    found = re.search(r" - at `\$\.?([^`]*)`", message)
    where = found[1] if found else ""
    reason = message[: found.start()] if found else message
    for pattern, what in (
        (r"Object missing required field `(\w+)`", "is missing"),
        (r"Object contains unknown field `(\w+)`", "is not a plan field"),
    ):
        named = re.match(pattern, reason)
        if named:
            where = f"{where}.{named[1]}" if where else named[1]
            reason = what
    last = re.sub(r"\[\d+\]", "", where.rsplit(".", 1)[-1])
    fix = _FIXES.get(last, f"remove it or correct its spelling; {_DOCS}")
    return f"{source}: field {where or '(top)'}: {reason}; fix: {fix}"


def parse_plan(data: Any, source: str = "plan.toml") -> Plan:
    """A Plan from decoded TOML, every field in range and every name it uses defined."""
    try:
        plan = msgspec.convert(data, Plan)
    except msgspec.ValidationError as e:
        raise ConfigError(_explain(str(e), source)) from None
    for i, matrix in enumerate(plan.cells):
        for field, table in (
            ("targets", plan.targets),
            ("builds", plan.builds),
            ("selections", plan.selections),
        ):
            for name in getattr(matrix, field):
                if name not in table:
                    known = ", ".join(sorted(table)) or "none"
                    raise ConfigError(
                        f"{source}: field cells[{i}].{field}: unknown {field[:-1]} {name!r}; "
                        f"fix: use one of {known}, or define it in [{field}]"
                    )
    return plan


def _decode(raw: bytes, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None


def load_plan(path: str | Path) -> LoadedPlan:
    """Read, check and resolve a plan file: its targets open (a lab config must exist and
    load) and its builds' manifests read."""
    import hashlib

    from harness.plan.resolve import check_references

    raw = read_regular(path, limit=_LIMIT, what="plan", error=ConfigError)
    source = str(path)
    data = _decode(raw, source)
    data.setdefault("name", Path(path).stem)
    plan = parse_plan(data, source)
    loaded = LoadedPlan(
        plan=plan, path=os.path.abspath(path), digest=hashlib.sha256(raw).hexdigest()
    )
    try:
        check_references(loaded)
    except HarnessError as e:
        raise ConfigError(f"{source}: {e}") from None
    return loaded
