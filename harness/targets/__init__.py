"""Targets: the systems under test. A `Target` performs actions and hands back the trace.

Backends are resolved lazily by name from `BACKENDS`, so importing this package never
imports libvirt or paramiko. A target spec is `NAME[:key=value,...]`, e.g.
`sim`, `sim:feature=disabled`, `sim:mutant=lost-wakeup,convention=inverted`, `lab:lab.toml`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import msgspec

from harness.actions import Action, Outcome
from harness.contract.trace import Expectations, Record
from harness.errors import ConfigError

__all__ = ["BACKENDS", "Features", "Target", "open_target", "parse_spec"]


class Features(msgspec.Struct, frozen=True, kw_only=True):
    """The feature state a target reports before anything else runs."""

    enabled: bool
    """IoGetDriverProxyFeatures reported Enabled."""
    extension_status: int
    """What IoCreateDriverProxyExtension returned (SUCCESS, NOT_SUPPORTED, DRIVER_BLOCKED)."""
    build: str = ""
    """Kernel build the target runs (e.g. 26100.2033), or the simulator's description."""


@runtime_checkable
class Target(Protocol):
    """A system under test that runs the hsprobe driver (or a model of it).

    Every method may raise InfrastructureError (the target broke, not the kernel) or
    GuestCrashError (the kernel bug-checked).
    """

    name: str
    expectations: Expectations
    """What this target's kernel is expected to implement (e.g. the convention)."""

    def probe(self) -> Features:
        """Report the DriverProxy feature state; records a `probe` in the trace."""
        ...

    def do(self, action: Action) -> Outcome:
        """Perform one action and return its status (see harness.actions)."""
        ...

    def run(self, duration: int) -> None:
        """Let `duration` (100 ns units) pass: virtual time in the simulator, real elsewhere."""
        ...

    def records(self) -> Sequence[Record]:
        """Every trace record so far, in seq order."""
        ...

    def close(self) -> None:
        """Release the target (revert the VM, stop the model); idempotent."""
        ...


BACKENDS: dict[str, str] = {
    "sim": "harness.targets.sim:SimTarget",
    "lab": "harness.targets.lab:LabTarget",
}


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split `NAME[:key=value,...]` into a backend name and options."""
    name, _, rest = spec.partition(":")
    options: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            options.setdefault("config", key)
            continue
        options[key.strip()] = value.strip()
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"unknown target {name!r} in spec {spec!r}; known targets: {known}")
    return name, options


def open_target(spec: str, *, seed: int = 0) -> Target:
    """Create the target a spec names; backends import only when asked for."""
    name, options = parse_spec(spec)
    module, _, cls = BACKENDS[name].partition(":")
    factory = getattr(importlib.import_module(module), cls)
    target: Target = factory.from_options(options, seed=seed)
    return target
