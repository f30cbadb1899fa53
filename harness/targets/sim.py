"""The `sim` target: the hsprobe driver model on the simulated kernel (the embedded default).

Spec options: `feature=enabled|disabled|blocked`, `convention=documented|inverted` (what the
simulated kernel implements), `expect=documented|inverted` (what the run expects; default:
the same), `mutant=NAME[+NAME...]`, `drain_timeout_ms=N`.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness import actions as act
from harness.contract import status as st
from harness.contract.clock import ms
from harness.contract.convention import Convention
from harness.contract.trace import Expectations, Record
from harness.errors import ConfigError, GuestCrashError
from harness.sim.driver import SimDriver
from harness.sim.kernel import FEATURES, LATENCY, SimKernel
from harness.sim.mutants import Mutant, parse_mutants
from harness.sim.scheduler import MS, SECOND
from harness.targets import Features

__all__ = ["SimTarget"]

_OPTIONS = ("feature", "convention", "expect", "mutant", "drain_timeout_ms")


def _convention(value: str, key: str) -> Convention:
    try:
        return Convention(value)
    except ValueError:
        raise ConfigError(
            f"sim target option {key}={value!r}: use 'documented' or 'inverted'"
        ) from None


class SimTarget:
    """A deterministic simulated kernel with the test driver loaded."""

    name = "sim"

    def __init__(self, *, seed: int = 0, mutants: frozenset[Mutant] = frozenset(),
                 convention: Convention = Convention.DOCUMENTED,
                 expect: Convention | None = None, feature: str = "enabled",
                 drain_timeout: int = 1000 * MS):
        self.kernel = SimKernel(seed=seed, mutants=mutants, convention=convention,
                                feature=feature, drain_timeout=drain_timeout)
        self.driver = SimDriver(self.kernel)
        self.driver.load()
        self.expectations = Expectations(convention=expect or convention,
                                         tick=self.kernel.tick, latency=LATENCY)
        self.mutants = mutants
        self.seed = seed
        self.description = (f"sim feature={feature} convention={convention.value}"
                            + (f" mutant={'+'.join(sorted(mutants))}" if mutants else ""))

    @classmethod
    def from_options(cls, options: dict[str, str], *, seed: int = 0) -> SimTarget:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ConfigError(f"unknown sim target option {unknown[0]!r}; "
                              f"known options: {', '.join(_OPTIONS)}")
        feature = options.get("feature", "enabled")
        if feature not in FEATURES:
            raise ConfigError(f"sim target option feature={feature!r}: use one of "
                              f"{', '.join(FEATURES)}")
        try:
            mutants = parse_mutants(options.get("mutant", ""))
            drain = int(options.get("drain_timeout_ms", "1000"))
        except ValueError as e:
            raise ConfigError(f"sim target: {e}") from None
        expect = options.get("expect")
        return cls(
            seed=seed, mutants=mutants, feature=feature,
            convention=_convention(options.get("convention", "documented"), "convention"),
            expect=_convention(expect, "expect") if expect else None,
            drain_timeout=drain * MS,
        )

    # -- Target protocol --------------------------------------------------------------
    def probe(self) -> Features:
        self._alive()
        self.driver.probe()
        return Features(enabled=self.kernel.feature != "disabled",
                        extension_status=self.driver.extension_status,
                        build=self.description)

    def do(self, action: act.Action) -> act.Outcome:
        self._alive()
        d = self.driver
        if isinstance(action, act.CreateWorker):
            out = d.create(action)
        elif isinstance(action, act.Signal):
            out = d.signal(action.worker, action.event)
        elif isinstance(action, act.Alert):
            out = d.alert(action.worker, action.user_apc)
        elif isinstance(action, act.Gate):
            d.set_gate(action.closed)
            out = act.Outcome(status=st.SUCCESS)
        elif isinstance(action, act.Swap):
            out = self._swap(action)
        elif isinstance(action, act.Unload):
            out = self._unload()
        else:  # pragma: no cover - the Action union is closed
            raise ConfigError(f"the sim target does not know action {action!r}")
        self._alive()
        return out

    def _swap(self, action: act.Swap) -> act.Outcome:
        result: list[int] = []
        self.driver.swap(action, result.append)
        if action.wait:
            limit = self.kernel.sched.now + self.kernel.drain_timeout + SECOND
            self.kernel.sched.run_until(limit, stop=lambda: bool(result))
        return act.Outcome(status=result[0] if result else st.PENDING)

    def _unload(self) -> act.Outcome:
        done: list[bool] = []
        self.driver.unload(lambda: done.append(True))
        self.kernel.sched.run_until(self.kernel.sched.now + 2 * SECOND, stop=lambda: bool(done))
        return act.Outcome(status=st.SUCCESS if done else st.PENDING)

    def run(self, duration: int) -> None:
        self._alive()
        self.kernel.sched.run_until(self.kernel.sched.now + duration)
        self._alive()
        # the trace shows how long the scenario let time pass: what was due and never came
        # is judged against this
        self.driver.mark(f"ran {ms(duration)}")

    def records(self) -> Sequence[Record]:
        return self.kernel.records

    def close(self) -> None:
        self.kernel.breakpoints.clear()

    def _alive(self) -> None:
        crash = self.kernel.crash
        if crash is not None:
            code, text = crash
            raise GuestCrashError(f"the simulated kernel bug-checked: 0x{code:X} {text}",
                                  bugcheck=code)
