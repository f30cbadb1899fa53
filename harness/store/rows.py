"""What the results store hands back: plain typed rows, no SQLAlchemy objects above it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

import msgspec

from harness.plan.model import Cell

__all__ = ["CellRow", "Inputs", "RunRow", "driver_hash", "now"]


def now() -> str:
    """The store's timestamps: ISO 8601 UTC to the millisecond, so text order is time order."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def driver_hash(files: Mapping[str, str], build_id: str) -> str:
    """One hash for a build's files (name and sha256 of each); the build id when it has
    none (the simulator's model)."""
    if not files:
        return build_id
    text = "\n".join(f"{name}={files[name]}" for name in sorted(files))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Inputs(msgspec.Struct, frozen=True, kw_only=True):
    """What a verdict depends on besides the scenario: a change here explains a change of
    verdict (a suspect); a verdict that changes while these do not is flaky."""

    guest_build: str
    driver_hash: str
    harness_version: str

    def differences(self, other: Inputs) -> list[str]:
        """`field: old -> new` for each input that differs from `other` (the older)."""
        return [
            f"{name}: {getattr(other, name)} -> {getattr(self, name)}"
            for name in self.__struct_fields__
            if getattr(self, name) != getattr(other, name)
        ]


class RunRow(msgspec.Struct, kw_only=True):
    id: str
    plan: str
    plan_path: str
    plan_digest: str
    kind: str
    state: str
    started: str
    finished: str | None = None
    host: str
    directory: str
    harness_version: str


class CellRow(msgspec.Struct, kw_only=True):
    id: int
    run_id: str
    key: str
    target: str
    spec: str
    kind: str
    build: str
    build_id: str
    convention: str | None
    selection: str
    keyword: str
    repeat: int
    seed: int
    required: bool
    state: str
    attempts: int
    verdict: str | None
    machine: str | None

    def cell(self, driver: dict[str, str]) -> Cell:
        """The plan cell this row was made from (`driver`: its build's files)."""
        kind: Literal["sim", "lab"] = "lab" if self.kind == "lab" else "sim"
        return Cell(
            key=self.key,
            target=self.target,
            spec=self.spec,
            build=self.build,
            driver=driver,
            build_id=self.build_id,
            convention=self.convention,
            selection=self.selection,
            keyword=self.keyword,
            repeat=self.repeat,
            seed=self.seed,
            required=self.required,
            kind=kind,
        )
