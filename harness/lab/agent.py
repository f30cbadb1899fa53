"""`--debugger pykd` on a lab target: the debugger agent (harness.debug.pykd) attached to the
leased machine, through the same Debugger Protocol as the gdbstub path.

The agent runs on the debugger host of `[debugger.pykd]` (or here, `host = "local"`) and
speaks JSON lines; its own watchdog and the client's kill a session that stops answering
(a HarnessTimeoutError: an infrastructure error). Engines:
- pykd / pybag: KDNET to a VBS guest; the connection string is assembled here from the
  config, the key read from its environment variable or file, and never logged.
- gdbstub: the machine's QEMU gdbstub, which is how this path is proven against the Linux
  stand-in: the lab resolves `module!routine` to an address (the engine breaks on addresses)
  and passes the kernel layout so the engine reads the Linux IRQL analogue and thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.debug import Stop, ThreadRef
from harness.debug.pykd import PykdDebugger, PykdOptions
from harness.errors import ConfigError
from harness.lab.config import secret

if TYPE_CHECKING:
    from harness.lab.debugger import Introspection
    from harness.lab.machine import LabMachine

__all__ = ["LabAgentDebugger", "open_agent"]


class LabAgentDebugger:
    """A PykdDebugger that keeps the guest running between stops (the lab drives it over its
    channel meanwhile) and, for the gdbstub engine, breaks on addresses the lab resolved."""

    def __init__(self, inner: PykdDebugger, eyes: Introspection | None) -> None:
        self.inner, self.eyes = inner, eyes
        self._at_stop = False
        self._breakpoints: set[int] = set()
        self.inner.resume()

    def armed(self) -> bool:
        return bool(self._breakpoints) and not self._at_stop

    def stopped_within(self, timeout: float) -> bool:
        """The agent cannot be asked while the guest runs: always False ("cannot tell"); the
        lab target then takes an action unanswered after AGENT_GRACE as held by a stop."""
        return False

    def _running_after(self) -> None:
        if not self._at_stop:
            self.inner.resume()

    def break_at(self, symbol: str) -> int:
        if self.eyes is not None and not symbol.lower().startswith("0x"):
            symbol = f"0x{self.eyes.resolve(symbol, None):x}"
        bp = self.inner.break_at(symbol)
        self._breakpoints.add(bp)
        self._running_after()
        return bp

    def clear(self, breakpoint: int) -> None:
        self.inner.clear(breakpoint)
        self._breakpoints.discard(breakpoint)
        self._running_after()

    def wait_break(self, timeout: float) -> Stop:
        stop = self.inner.wait_break(timeout)
        self._at_stop = True
        return stop

    def irql(self) -> int:
        return self.inner.irql()

    def current_thread(self) -> ThreadRef:
        return self.inner.current_thread()

    def read(self, address: int, size: int) -> bytes:
        return self.inner.read(address, size)

    def write(self, address: int, data: bytes) -> None:
        self.inner.write(address, data)

    def resume(self) -> None:
        self.inner.resume()
        self._at_stop = False

    def detach(self) -> None:
        self.inner.detach()


def _options(lab: LabMachine, eyes: Introspection | None) -> PykdOptions:
    """The agent's options from the lab config; the KDNET key from its variable or file."""
    config = lab.config
    pykd = config.debugger.pykd
    assert pykd is not None
    common: dict[str, Any] = {
        "engine": pykd.engine,
        "host": pykd.host,
        "user": pykd.user,
        "identity": pykd.key,
        "known_hosts": pykd.known_hosts,
        "port": pykd.port,
        "shell": pykd.shell,
        "python": pykd.python,
        "timeout": config.debugger.watchdog,
        "attach_timeout": pykd.attach_timeout,
    }
    if pykd.engine == "gdbstub":
        host, port = lab.machine.gdbstub()
        layout = getattr(eyes, "layout", None)  # the Linux stand-in's kernel layout
        return PykdOptions(
            kd=f"{host}:{port}",
            cid_offset=config.debugger.cid_offset,
            linux_layout=tuple(layout) if layout is not None else None,
            **common,
        )
    key = secret(
        pykd.kdnet_key_env, pykd.kdnet_key_file, "field debugger.pykd.kdnet_key_env", config.source
    )
    if key is None:
        raise ConfigError(
            f"{config.source}: field debugger.pykd.kdnet_key_env: missing; fix: "
            "name the environment variable (or kdnet_key_file) holding the key"
        )
    return PykdOptions(kd=f"net:port={pykd.kdnet_port},key={key}", **common)


def open_agent(lab: LabMachine, eyes: Introspection | None) -> LabAgentDebugger:
    config = lab.config
    if config.debugger.pykd is None:
        raise ConfigError(
            f"{config.source}: --debugger pykd needs a [debugger.pykd] table "
            "(the agent's host and engine); fix: add one (see lab/)"
        )
    if config.debugger.pykd.engine == "gdbstub" and lab.profile.name == "windows":
        raise ConfigError(
            f"{config.source}: the agent's gdbstub engine resolves no Windows "
            "symbols; use --debugger gdbstub for a Windows guest without VBS"
        )
    return LabAgentDebugger(PykdDebugger.open(_options(lab, eyes)), eyes)
