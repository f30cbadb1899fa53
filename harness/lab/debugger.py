"""Debuggers on lab machines: `--debugger gdbstub` or `--debugger pykd` attach to the leased
machine, with the guest profile's introspection (`harness.lab.introspect`) for symbols,
IRQL and thread identity.

A debugger stops the whole guest, and the lab drives the guest over its channel, so these
debuggers keep the guest running except between a breakpoint stop and the `resume` after
it: attaching and setting or clearing a breakpoint leave it running. Every call runs under
a `Watchdog`: a debugger that stops answering has its connection killed and the call fails
with a DebuggerError (an infrastructure error), never a hang. `detach` removes every breakpoint; the
lab target detaches its debuggers when the scenario ends, before the machine is reverted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from harness.debug import Stop, ThreadRef
from harness.debug.session import GdbSession
from harness.errors import ConfigError, DebuggerError, HarnessError, HarnessTimeoutError

__all__ = ["Introspection", "LabGdbDebugger", "Watchdog"]


class Introspection:
    """What a guest OS says about a stopped CPU: a profile implements these three."""

    def resolve(self, symbol: str, session: GdbSession | None) -> int:
        """`module!routine` (or 0xADDRESS) to an address; the guest is running, and may be
        stopped through `session` to read its memory."""
        raise NotImplementedError

    def irql(self, session: GdbSession) -> int:
        """The interrupted code's IRQL (or its Linux analogue) at a stop."""
        raise NotImplementedError

    def thread(self, session: GdbSession) -> ThreadRef:
        """The thread running on the stopped CPU."""
        raise NotImplementedError


class Watchdog:
    """Bounds every debugger call: past its limit, `kill` cuts the connection (which makes the
    blocked call fail) and the call raises DebuggerError saying so."""

    def __init__(self, seconds: float, kill: Callable[[], None], where: str) -> None:
        self.seconds, self.kill, self.where = seconds, kill, where
        self.fired = False

    @contextmanager
    def guard(self, op: str, extra: float = 0.0) -> Iterator[None]:
        if self.fired:
            raise DebuggerError(f"{self.where}: the session was killed by its watchdog")
        limit = self.seconds + extra
        timer = threading.Timer(limit, self._fire)
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception as e:
            if self.fired:
                raise DebuggerError(
                    f"{self.where}: the debugger did not answer {op} within "
                    f"{limit:g} s; its session was killed"
                ) from None
            if isinstance(e, HarnessError):
                raise
            raise DebuggerError(f"{self.where}: {op} failed: {e}") from None
        finally:
            timer.cancel()

    def _fire(self) -> None:
        self.fired = True
        self.kill()


class LabGdbDebugger:
    """The Debugger Protocol over a lab machine's QEMU gdbstub."""

    def __init__(
        self,
        host: str,
        port: int,
        introspection: Introspection,
        *,
        watchdog: float,
        hardware: bool = True,
    ) -> None:
        self.introspection = introspection
        self.where = f"gdbstub {host}:{port}"
        self._kill: Callable[[], None] = lambda: None
        self.watchdog = Watchdog(watchdog, lambda: self._kill(), self.where)
        self._at_stop = False
        self._stop: Stop | None = None
        with self.watchdog.guard("attach"):
            self.session = GdbSession(host, port, min(watchdog, 10.0), hardware)
            self._kill = self.session.remote.close
            self.session.resume()  # connecting stopped the guest: it must keep answering SSH

    def _running_after(self) -> None:
        if not self._at_stop:
            self.session.resume()

    def break_at(self, symbol: str) -> int:
        with self.watchdog.guard(f"break_at {symbol}"):
            bp = self.session.insert(self.introspection.resolve(symbol, self.session))
            self._running_after()
        return bp

    def clear(self, breakpoint: int) -> None:
        with self.watchdog.guard("clear"):
            self.session.remove(breakpoint)
            self._running_after()

    def armed(self) -> bool:
        """Breakpoints are set and the guest runs: an action may stop it."""
        return bool(self.session.breakpoints) and not self._at_stop

    def stopped_within(self, timeout: float) -> bool:
        """Whether the guest stopped at a breakpoint within `timeout` s (the stop is kept
        for the next wait_break); the lab target asks while an action is under way."""
        if self._stop is not None:
            return True
        with self.watchdog.guard("poll", extra=timeout):
            found = self.session.poll(timeout)
        if found is None:
            return False
        self._stop, self._at_stop = Stop(breakpoint=found[0], address=found[1]), True
        return True

    def wait_break(self, timeout: float) -> Stop:
        if self._stop is not None:  # the guest stopped while an action ran
            stop, self._stop = self._stop, None
            return stop
        with self.watchdog.guard("wait_break", extra=timeout):
            try:
                bp, pc = self.session.wait(timeout)
            except HarnessTimeoutError:
                self.session.resume()  # the wait interrupted the guest: let it run again
                raise
        self._at_stop = True
        return Stop(breakpoint=bp, address=pc)

    def irql(self) -> int:
        with self.watchdog.guard("irql"):
            return self.introspection.irql(self.session)

    def current_thread(self) -> ThreadRef:
        with self.watchdog.guard("current_thread"):
            return self.introspection.thread(self.session)

    def read(self, address: int, size: int) -> bytes:
        with self.watchdog.guard("read"):
            self.session.stopped()
            data = self.session.remote.read(address, size)
            self._running_after()
        return data

    def write(self, address: int, data: bytes) -> None:
        with self.watchdog.guard("write"):
            self.session.stopped()
            self.session.remote.write(address, data)
            self._running_after()

    def resume(self) -> None:
        with self.watchdog.guard("resume"):
            self.session.resume()
        self._at_stop, self._stop = False, None

    def detach(self) -> None:
        if self.watchdog.fired:
            self.session.remote.close()
            return
        with self.watchdog.guard("detach"):
            self.session.detach()


def parse_symbol(symbol: str) -> tuple[str, str]:
    """`module!name` -> (module, name); ConfigError for anything else."""
    module, sep, name = symbol.partition("!")
    if not sep or not module or not name:
        raise ConfigError(f"breakpoint {symbol!r} must be module!routine or 0xADDRESS")
    return module, name


def address_of(symbol: str) -> int | None:
    """The address a `0x...` symbol names, else None."""
    if symbol.lower().startswith("0x"):
        try:
            return int(symbol, 16)
        except ValueError:
            raise ConfigError(f"breakpoint address {symbol!r} is not hexadecimal") from None
    return None
