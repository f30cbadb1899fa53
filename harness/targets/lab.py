"""The `lab` target: hsprobe in a real guest leased from the pool, reverted per scenario (or,
on a machine without snapshots, brought back by its pool's reset policy: docs/hardware.md).

Spec: `lab:CONFIG[,feature=enabled|disabled|blocked][,convention=documented|inverted]
[,bugs=NAME+NAME][,expect=documented|inverted]` - CONFIG is a lab config file
(docs/lab-target.md); feature, convention and bugs override the stand-in's hsproxy
parameters (each setting gets its own ready snapshot), expect the convention judged.

Each target is one scenario on one machine of the process's `LabSession`: opening it reverts
the machine to its ready snapshot (`loadvm`) and sees version 1 answer; every action is one
hsprobectl call over the guest channel; the trace is the driver's own telemetry, fetched
incrementally; a crash or an unresponsive guest is told apart and captured (see
harness.lab.watch), and the machine reverted for the next scenario.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn

import msgspec

from harness import actions as act
from harness.contract import status as st
from harness.contract.clock import TICK
from harness.contract.convention import Convention
from harness.contract.trace import Expectations, Record
from harness.driver.commands import hsprobectl_args, outcome
from harness.driver.telemetry import decode_telemetry
from harness.errors import (
    ConfigError,
    GuestCrashError,
    HarnessError,
    InfrastructureError,
    InputError,
)
from harness.guest.ssh import CommandResult
from harness.lab.config import LabConfig
from harness.lab.crash import Detection
from harness.lab.debugger import LabGdbDebugger
from harness.lab.machine import LabMachine, Prepared
from harness.lab.watch import CrashWatch
from harness.targets import Features, typed_options

__all__ = ["LabOptions", "LabTarget"]

_EXIT_UNAVAILABLE = 3
#: seconds between looks at the telemetry while waiting for a condition
POLL = 0.05
#: an armed debugger that cannot be asked whether the guest stopped (the agent): an action
#: not answered within this many seconds is taken as held up by a breakpoint
AGENT_GRACE = 2.0


class _Background:
    """A call running in its own thread (an action held up by a debugger stop)."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(fn, args), daemon=True).start()

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            self._result = fn(*args)
        except BaseException as e:  # handed to the caller by value()
            self._error = e
        finally:
            self.done.set()

    def value(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._result


class LabOptions(msgspec.Struct, frozen=True, kw_only=True):
    """The lab target's spec options; each documents its default."""

    config: str = ""
    """The lab config file (required)."""
    feature: Literal["enabled", "disabled", "blocked"] | None = None
    """Override the config's driver.feature (the stand-in's hsproxy parameter)."""
    convention: Convention | None = None
    """Override driver.kernel_convention (what the stand-in's kernel implements)."""
    bugs: str | None = None
    """Override driver.bugs: the stand-in's named kernel bugs, `+`-separated."""
    expect: Convention | None = None
    """The convention the run expects (default: the config's convention)."""


class LabTarget:
    """One scenario on a prepared lab machine."""

    name = "lab"

    def __init__(
        self, session: Any, lab: LabMachine, prepared: Prepared, expectations: Expectations
    ) -> None:
        self.session, self.lab, self.prepared = session, lab, prepared
        self.expectations = expectations
        self.timing_slack = round(lab.config.timeouts.slack * 1e7)
        self.scenario, self.repetition, self.out = "unnamed", 0, Path("out")
        self.timing: dict[str, float] = {}
        self._records: list[Record] = []
        self._next = 0
        self._closed = False
        self._debuggers: list[Any] = []
        self._background: _Background | None = None
        self._failed = False
        self._acted = False
        self.timing["revert"] = lab.begin(prepared)
        self.watch = CrashWatch(lab)
        began = time.monotonic()
        self.info = lab.query()
        self.timing["first_answer"] = time.monotonic() - began
        if self.info.image_version != 1 or self.info.registered_version not in (0, 1):
            raise InfrastructureError(
                f"{lab.name}: after the revert image {self.info.image_version} answers with "
                f"version {self.info.registered_version} registered; the ready snapshot is "
                "not what was prepared"
            )
        self.environment = {
            "guest_build": prepared.guest_build,
            "machine": lab.name,
            "feature": "enabled" if self.info.enabled else "disabled",
            "extension_status": f"0x{self.info.extension_status:08X}",
        }
        self.environment.update(
            {f"sha256 {file}": digest for file, digest in prepared.driver.items()}
        )

    @staticmethod
    def check_spec(spec: str) -> LabConfig:
        """The lab config a spec names, checked (options and file), without a machine."""
        from harness.lab.config import load_lab_config
        from harness.targets import parse_spec

        o = typed_options("lab", parse_spec(spec)[1], LabOptions)
        if not o.config:
            raise ConfigError(
                "the lab target needs a config file: --target lab:LAB.toml (see lab/ for examples)"
            )
        return load_lab_config(o.config)

    @classmethod
    def from_options(
        cls, options: dict[str, str], *, seed: int = 0, expectations: Expectations | None = None
    ) -> LabTarget:
        from harness.lab.session import session_for

        o = typed_options("lab", options, LabOptions)
        if not o.config:
            raise ConfigError(
                "the lab target needs a config file: --target lab:LAB.toml (see lab/ for examples)"
            )
        session = session_for(o.config)
        driver = session.config.driver
        if o.feature is not None:
            driver = msgspec.structs.replace(driver, feature=o.feature)
        if o.convention is not None:
            driver = msgspec.structs.replace(driver, kernel_convention=o.convention.value)
        if o.bugs is not None:
            driver = msgspec.structs.replace(driver, bugs=tuple(b for b in o.bugs.split("+") if b))
        if expectations is None:
            expect = o.expect or session.config.convention
            # the stand-in's relative timeouts run on hrtimers, exact to the nanosecond; Windows
            # expires them on clock ticks, up to one early (docs/trace-format.md, timeout-early)
            tick = 0 if session.config.profile == "linux" else TICK
            expectations = Expectations(
                convention=Convention(expect) if expect else None, tick=tick
            )
        lab, prepared = session.take(driver)
        try:
            return cls(session, lab, prepared, expectations)
        except BaseException:
            session.give_back(lab, broken=True)
            raise

    def note_failure(self) -> None:
        """The scenario failed (told by the scenario plugin): on a machine that resets by
        reboot, the next scenario starts on a fresh boot."""
        self._failed = True

    def bind(self, *, scenario: str, repetition: int, out: str | None) -> None:
        """Name the scenario this target runs (for the crash capture directory)."""
        self.scenario, self.repetition = scenario, repetition
        if out is not None:
            self.out = Path(out)

    # -- Target protocol ------------------------------------------------------------------
    def probe(self) -> Features:
        return Features(
            enabled=self.info.enabled,
            extension_status=self.info.extension_status,
            build=self.prepared.guest_build,
        )

    def do(self, action: act.Action) -> act.Outcome:
        self._acted = True
        argv = self.lab.profile.command(*hsprobectl_args(action))
        armed = [d for d in self._debuggers if d.armed()]
        if armed:
            held = self._call_while_armed(argv, armed)
            if held is None:  # a breakpoint stopped the guest: the answer comes after it
                return act.Outcome(status=st.PENDING)
            result = held
        else:
            result = self._call(argv)
        if result.status != 0:
            self._check()
            text = result.stderr.decode(errors="replace").strip()[-300:]
            raise InfrastructureError(
                f"{self.lab.name}: hsprobectl {hsprobectl_args(action)[0]} exited "
                f"{result.status}: {text}"
            )
        answer = outcome(result.stdout)
        self._check()
        return answer

    def run(self, duration: int) -> None:
        time.sleep(max(duration, 0) / 1e7)
        self._check()

    def wait_for(self, condition: Callable[[Sequence[Record]], bool], timeout: int) -> bool:
        deadline = time.monotonic() + max(timeout, 0) / 1e7
        while True:
            if condition(self.records()):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)

    def records(self, since: int | None = None) -> Sequence[Record]:
        self._fetch()
        if since is None:
            return list(self._records)
        return [r for r in self._records if r.seq > since]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            for debugger in self._debuggers:
                debugger.detach()
            self._settle()
        finally:
            self.lab.end(failed=self._failed, acted=self._acted)
            self.session.give_back(self.lab)

    def open_debugger(self, name: str, options: dict[str, str]) -> Any:
        """`--debugger NAME` attached to this scenario's machine; detached at close."""
        from harness.lab.introspect import open_lab_debugger

        debugger = open_lab_debugger(self.lab, name, options)  # its failure is its own
        self._debuggers.append(debugger)
        return debugger

    # -- the channel, watched ---------------------------------------------------------------
    def _fetch(self) -> None:
        argv, remote = self.lab.profile.raw_trace(self._next)
        result = self._call(argv)
        if result.status != 0:
            self._check()
            raise InfrastructureError(
                f"{self.lab.name}: hsprobectl trace exited "
                f"{result.status}: {result.stderr.decode(errors='replace')}"
            )
        data = result.stdout if remote is None else self._guarded(self.lab.channel_fetch, remote)
        try:
            telemetry = decode_telemetry(data, path=f"{self.lab.name}:trace")
        except InputError as e:
            raise InfrastructureError(
                f"{self.lab.name}: the telemetry fetched is unusable: {e}"
            ) from None
        if telemetry.dropped:
            raise InfrastructureError(
                f"{self.lab.name}: the driver's telemetry ring overwrote {telemetry.dropped} "
                "records before they were read; the trace is incomplete"
            )
        fresh = [r for r in telemetry.records if r.seq >= self._next]
        if fresh:
            self._records.extend(fresh)
            self._next = fresh[-1].seq + 1

    def _call_while_armed(self, argv: tuple[str, ...], armed: list[Any]) -> CommandResult | None:
        """Run an action that may stop the guest at a breakpoint before the guest can answer
        (one vCPU: the worker runs at once). Its result, or None when the guest stopped first:
        the call then finishes in the background once the scenario resumes the guest."""
        call = _Background(self._call, argv)
        grace = time.monotonic() + AGENT_GRACE
        while not call.done.wait(0.005):
            blind = not any(isinstance(d, LabGdbDebugger) for d in armed)
            if any(d.stopped_within(0.03) for d in armed) or (blind and time.monotonic() > grace):
                self._background = call
                return None
        result: CommandResult = call.value()
        return result

    def _settle(self) -> None:
        """Wait for an action held up by a debugger stop, so calls stay in order."""
        call, self._background = self._background, None
        if call is not None and call.done.wait(self.lab.config.timeouts.command + 5.0):
            call.value()

    def _call(self, argv: tuple[str, ...]) -> CommandResult:
        self._settle()
        channel = self.lab.channel
        if channel is None:
            raise InfrastructureError(f"{self.lab.name} has no channel (released?)")
        result: CommandResult = self._guarded(channel.run, argv)
        return result

    def _guarded(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except InfrastructureError as e:
            self._fail(self.watch.diagnose(e))

    def _check(self) -> None:
        found = self.watch.check()
        if found is not None:
            self._fail(found)

    def _fail(self, detection: Detection) -> NoReturn:
        """Capture, bring the machine back, and raise the verdict."""
        self._failed = True
        where = self.watch.capture(
            detection,
            out=self.out,
            scenario=self.scenario,
            repetition=self.repetition,
            prepared=self.prepared,
            records=self._records,
        )
        tail = self.watch.console()[-600:].strip()
        try:
            self.lab.recover(self.prepared.snapshot)
            self.watch.fetch_guest_dump(where)  # a rack machine's own, after its reboot
        except HarnessError as e:
            self._closed = True
            self.session.give_back(self.lab, broken=True)
            detection = msgspec.structs.replace(
                detection,
                summary=f"{detection.summary}; the machine could not be reverted "
                f"({e}) and was released",
            )
        if detection.detected_by == "unresponsive":
            raise InfrastructureError(
                f"{self.lab.name}: {detection.summary}; console tail: {tail!r}; capture: {where}"
            )
        code = detection.bugcheck.code if detection.bugcheck else None
        raise GuestCrashError(
            f"{self.lab.name}: {detection.summary} (capture: {where})",
            bugcheck=code,
            detail=str(where),
        )
