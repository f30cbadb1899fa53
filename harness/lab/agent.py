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
from harness.debug.pykd import AgentClient, PykdDebugger, _open_stream
from harness.errors import ConfigError
from harness.lab.config import secret

if TYPE_CHECKING:
    from harness.lab.debugger import Introspection
    from harness.lab.machine import LabMachine

__all__ = ["LabAgentDebugger", "open_agent"]

START_TIMEOUT = 60.0


class LabAgentDebugger:
    """A PykdDebugger that keeps the guest running between stops (the lab drives it over SSH
    meanwhile) and, for the gdbstub engine, breaks on addresses the lab resolved."""

    def __init__(self, inner: PykdDebugger, eyes: Introspection | None) -> None:
        self.inner, self.eyes = inner, eyes
        self._at_stop = False
        self._breakpoints: set[int] = set()
        self.inner.resume()

    def armed(self) -> bool:
        return bool(self._breakpoints) and not self._at_stop

    def stopped_within(self, timeout: float) -> bool:
        """The agent cannot be asked while the guest runs: None means "cannot tell"."""
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


def _attach_args(lab: LabMachine, eyes: Introspection | None) -> dict[str, Any]:
    config = lab.config
    pykd = config.debugger.pykd
    assert pykd is not None
    if pykd.engine == "gdbstub":
        host, port = lab.machine.gdbstub()
        args: dict[str, Any] = {"target": f"{host}:{port}"}
        layout = getattr(eyes, "layout", None)
        if layout is not None:  # the Linux stand-in: the engine reads Linux's structures
            args.update(os="linux", layout=list(layout))
        elif config.debugger.cid_offset is not None:
            args["cid_offset"] = config.debugger.cid_offset
        return args
    key = secret(pykd.kdnet_key_env, pykd.kdnet_key_file, "field debugger.pykd.kdnet_key_env",
                 config.source)
    if key is None:
        raise ConfigError(f"{config.source}: field debugger.pykd.kdnet_key_env: missing; fix: "
                          "name the environment variable (or kdnet_key_file) holding the key")
    return {"target": f"net:port={pykd.kdnet_port},key={key}"}


def open_agent(lab: LabMachine, eyes: Introspection | None) -> LabAgentDebugger:
    config = lab.config
    pykd = config.debugger.pykd
    if pykd is None:
        raise ConfigError(f"{config.source}: --debugger pykd needs a [debugger.pykd] table "
                          "(the agent's host and engine); fix: add one (see lab/)")
    if pykd.engine == "gdbstub" and lab.profile.name == "windows":
        raise ConfigError(f"{config.source}: the agent's gdbstub engine resolves no Windows "
                          "symbols; use --debugger gdbstub for a Windows guest without VBS")
    opts = {"host": pykd.host, "shell": pykd.shell, "python": pykd.python,
            "port": str(pykd.port)}
    opts.update({k: v for k, v in (("user", pykd.user), ("key", pykd.key),
                                   ("known_hosts", pykd.known_hosts)) if v})
    stream, where = _open_stream(opts, pykd.engine)
    client = AgentClient(stream, where)
    try:
        client.start(START_TIMEOUT)
        client.call("attach", pykd.attach_timeout, **_attach_args(lab, eyes))
        inner = PykdDebugger(client, timeout=config.debugger.watchdog)
        return LabAgentDebugger(inner, eyes)
    except BaseException:
        client.close()
        raise
