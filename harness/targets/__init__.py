"""Targets: the systems under test. A `Target` performs actions and hands back the trace.

Backends are resolved lazily by name from `BACKENDS`, so importing this package never
imports libvirt or paramiko. A target spec is `NAME[:key=value,...]`, e.g.
`sim`, `sim:feature=disabled`, `sim:mutant=lost-wakeup,convention=inverted`, `lab:lab.toml`.
Each backend parses its options into one typed struct (`typed_options`): an unknown key is
refused with the known ones listed, a bad value with one message naming it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar, runtime_checkable

import msgspec
import msgspec.inspect

from harness.actions import Action, Outcome
from harness.contract.trace import Expectations, Record
from harness.errors import ConfigError

__all__ = [
    "BACKENDS",
    "Condition",
    "Features",
    "Target",
    "open_target",
    "parse_spec",
    "typed_options",
]

Condition = Callable[[Sequence[Record]], bool]
"""A predicate over the records so far (in seq order); it must not keep the sequence."""

T = TypeVar("T", bound=msgspec.Struct)


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

    Code that drives a target waits on *conditions* over the trace (`wait_for`), never on
    durations, so it runs unchanged on the simulator's virtual time and on a real guest's
    real time; `run` is for what genuinely needs time to pass (timeouts). Every method may
    raise InfrastructureError (the target broke, not the kernel) or GuestCrashError (the
    kernel bug-checked).
    """

    name: str
    expectations: Expectations
    """What this target's kernel is expected to implement (e.g. the convention); fixed when
    the target is opened, never patched later."""
    timing_slack: int
    """How late (100 ns units) an effect may show in the trace after its cause on this
    target: a wake after the signal, a STATUS_TIMEOUT after its deadline. Timing checks are
    contract bounds: never earlier than configured, never later than this slack (a few
    microseconds of model latency on the simulator; a lab sets it for its guests)."""

    def probe(self) -> Features:
        """Report the DriverProxy feature state; records a `probe` in the trace."""
        ...

    def do(self, action: Action) -> Outcome:
        """Perform one action and return its status (see harness.actions)."""
        ...

    def run(self, duration: int) -> None:
        """Let `duration` (100 ns units) pass: virtual time in the simulator, real elsewhere.
        Only for what the contract ties to time (timeouts); wait on conditions otherwise."""
        ...

    def wait_for(self, condition: Condition, timeout: int) -> bool:
        """Let time pass until `condition(records so far)` holds: True then, at once if it
        already holds; False when `timeout` (100 ns units of the target's clock) passed
        first."""
        ...

    def records(self, since: int | None = None) -> Sequence[Record]:
        """The trace records in seq order; with `since=S` only those whose seq > S."""
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


def typed_options(target: str, options: Mapping[str, str], kind: type[T]) -> T:
    """`options` (strings from a spec) as the backend's typed options struct `kind`.

    Every field of `kind` has a default. Each option is converted on its own first, so the
    message names the one that is wrong; unknown keys are refused with the known ones.
    """
    known = kind.__struct_fields__
    for key, value in options.items():
        if key not in known:
            raise ConfigError(
                f"unknown {target} target option {key!r}; known options: {', '.join(known)}"
            )
        try:
            msgspec.convert({key: value}, kind, strict=False)
        except msgspec.ValidationError as e:
            reason = str(e).split(" - at `$")[0]
            choices = _choices(kind, key)
            if choices:
                reason = f"use one of {', '.join(choices)}"
            raise ConfigError(f"{target} target option {key}={value!r}: {reason}") from None
    try:
        return msgspec.convert(dict(options), kind, strict=False)
    except msgspec.ValidationError as e:  # a rule across options
        raise ConfigError(f"{target} target options: {e}") from None


def _choices(kind: type[msgspec.Struct], key: str) -> list[str]:
    """The values a Literal or enum field accepts (empty for other types)."""
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    field = next(f for f in info.fields if f.name == key)
    types = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
    out: list[str] = []
    for t in types:
        if isinstance(t, msgspec.inspect.LiteralType):
            out += [str(v) for v in t.values]
        elif isinstance(t, msgspec.inspect.EnumType):
            out += [str(m.value) for m in t.cls]
    return out


def open_target(spec: str, *, seed: int = 0, expectations: Expectations | None = None) -> Target:
    """Create the target a spec names; backends import only when asked for.

    `expectations` replace the target's own (e.g. a run that expects another convention);
    None keeps what the target expects of itself.
    """
    name, options = parse_spec(spec)
    module, _, cls = BACKENDS[name].partition(":")
    factory = getattr(importlib.import_module(module), cls)
    target: Target = factory.from_options(options, seed=seed, expectations=expectations)
    return target
