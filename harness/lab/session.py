"""`LabSession`: the machines one process leased for a lab config, kept across scenarios.

The scenario suite opens a target per scenario; booting and preparing a guest per scenario
would cost a boot each time, so a session (one per config file and process) keeps its
prepared machines and hands one to each target, which reverts it to `ready`. A session
whose preparation failed remembers the error and repeats it at once rather than booting
again for every scenario. Every session is closed (machines released, nothing left
running) when the process exits, and by `close_sessions()`.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InfrastructureError
from harness.lab.config import DriverConfig, LabConfig, load_lab_config
from harness.lab.machine import LabMachine, Prepared
from harness.lab.profile import make_profile

__all__ = ["LabSession", "close_sessions", "session_for"]

log = logging.getLogger(__name__)
_sessions: dict[str, LabSession] = {}
_lock = threading.Lock()


class LabSession:
    """Machines of one lab config; lease on demand, reuse, release at the end."""

    def __init__(self, config: LabConfig) -> None:
        self.config = config
        self.profile = make_profile(config)
        self._pool: Any = None
        self._idle: list[LabMachine] = []
        self._busy: list[LabMachine] = []
        self._failed: HarnessError | None = None

    def take(self, driver: DriverConfig) -> tuple[LabMachine, Prepared]:
        """An idle machine prepared for `driver` (leased and booted if none is idle)."""
        if self._failed is not None:
            raise self._failed
        machine = self._idle.pop() if self._idle else None
        try:
            if machine is None:
                machine = LabMachine(self.config, self.profile, self._lease())
                _say(f"lab: booting {machine.name} and loading the driver ...")
            began = time.monotonic()
            fresh = not machine.prepared or driver != self.config.driver
            prepared = machine.prepare(driver)
            if fresh and time.monotonic() - began > 1.0:
                _say(
                    f"lab: {machine.name} ready ({prepared.snapshot}, "
                    f"{prepared.guest_build.split()[0]}) in {time.monotonic() - began:.1f} s"
                )
        except HarnessError as e:
            if machine is not None:
                self._discard(machine)
            if not self._busy and not self._idle:
                self._failed = e  # the same cause would fail every scenario: say it once
            raise
        except BaseException:
            if machine is not None:
                self._discard(machine)
            raise
        self._busy.append(machine)
        return machine, prepared

    def give_back(self, machine: LabMachine, *, broken: bool = False) -> None:
        if machine in self._busy:
            self._busy.remove(machine)
        if broken:
            self._discard(machine)
        else:
            self._idle.append(machine)

    def _lease(self) -> Any:
        if self._pool is None:
            from harness.vm import open_pool

            self._pool = open_pool(self.config.machines)
        return self._pool.lease(timeout=self.config.timeouts.ready)

    def _discard(self, machine: LabMachine) -> None:
        try:
            machine.release()
        except HarnessError as e:
            log.warning("releasing %s: %s", machine.name, e)

    def close(self) -> None:
        """Release every machine; idempotent."""
        machines, self._idle, self._busy = self._idle + self._busy, [], []
        errors = []
        for machine in machines:
            try:
                machine.release()
            except HarnessError as e:
                errors.append(str(e))
        if self._pool is not None:
            try:
                self._pool.close()
            finally:
                self._pool = None
        if errors:
            raise InfrastructureError("; ".join(errors))


def _say(text: str) -> None:
    """Progress of the long steps (boot, driver load, snapshot) on stderr."""
    print(text, file=sys.stderr, flush=True)


def session_for(path: str) -> LabSession:
    """The session of lab config `path` in this process (created on first use)."""
    key = str(Path(path).resolve())
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = LabSession(load_lab_config(path))
            _sessions[key] = session
        return session


@atexit.register
def close_sessions() -> None:
    """Release every machine of every session (also run at interpreter exit)."""
    with _lock:
        sessions = list(_sessions.values())
        _sessions.clear()
    for session in sessions:
        try:
            session.close()
        except HarnessError as e:
            log.warning("closing lab session: %s", e)
