"""`PykdDebugger`: the `Debugger` Protocol through the agent on a debugger host (pykd or
pybag over KDNET on Windows; or the gdbstub engine anywhere). The agent bundle is copied
over SFTP (checksum-verified, cached by hash) and run over an SSH exec channel; each
debugger is one agent process, killed by closing the channel when a reply is overdue.

Spec options (`pykd:host=dbghost,user=lab,...`): host (`local` runs the agent as a local
process, no SSH), user, key, known_hosts, port (22), shell (cmd: OpenSSH on Windows; sh;
powershell), python (remote interpreter, `python`), dir (remote directory for the bundle),
engine (pykd | pybag | gdbstub), kd (the engine's target: a KDNET string such as
`net:port=50000,key=...`, or HOST:PORT for gdbstub), timeout (30 s per command),
attach_timeout (120 s), build and cid_offset (gdbstub engine only).
"""

from __future__ import annotations

import base64
import logging
import sys
from typing import Any

from harness.debug import Stop, ThreadRef
from harness.debug.agent import wire
from harness.debug.agentstream import LocalStream, SshStream, Stream
from harness.debug.bundle import agent_bundle
from harness.errors import ConfigError, DebuggerError, HarnessTimeoutError

__all__ = ["AgentClient", "PykdDebugger"]

log = logging.getLogger(__name__)
#: beyond a command's own timeout: the agent's watchdog grace plus transport slack
SLACK = 10.0


class AgentClient:
    """Requests and replies over a `Stream` to one agent process."""

    def __init__(self, stream: Stream, where: str) -> None:
        self.stream, self.where = stream, where
        self._next = 0
        self.ready: dict[str, Any] = {}

    def start(self, timeout: float) -> dict[str, Any]:
        message = self._next_message(timeout, "the agent's ready line")
        if message.get("event") != "ready":
            error = message.get("error", {}).get("message", message)
            raise DebuggerError(f"agent on {self.where} did not start: {error}")
        self.ready = message
        return message

    def call(self, op: str, limit: float, **args: Any) -> Any:
        """Run one request; `limit` bounds the agent's work, SLACK the transport's."""
        self._next += 1
        ident = self._next
        log.debug("agent %s: %s", self.where, op)  # op names only: args may hold KDNET keys
        self.stream.write(wire.request(ident, op, limit, **args))
        while True:
            message = self._next_message(limit + SLACK, f"the reply to {op}")
            if message.get("id") == ident:
                break
        if message.get("ok"):
            return message.get("result")
        error = message["error"]
        text = f"agent on {self.where}: {op}: {error['message']}"
        if error["kind"] == "timeout":
            raise HarnessTimeoutError(text)
        raise DebuggerError(text)

    def _next_message(self, timeout: float, what: str) -> dict[str, Any]:
        line = self.stream.read_line(timeout)
        if line is None:
            self.stream.close()
            raise HarnessTimeoutError(
                f"agent on {self.where} sent no {what} within {timeout:g} s; session killed"
            )
        if not line:
            raise DebuggerError(f"agent on {self.where} died: {self.stream.exit_info()}")
        try:
            return wire.decode(line)
        except wire.WireError as e:
            raise DebuggerError(f"agent on {self.where} sent garbage: {e}") from None

    def close(self) -> None:
        self.stream.close()


class PykdDebugger:
    """A kernel debugger behind the agent; attached on construction."""

    def __init__(self, client: AgentClient, *, timeout: float = 30.0) -> None:
        self.client, self.timeout = client, timeout
        self._detached = False

    @classmethod
    def from_options(cls, options: dict[str, str], target: Any = None) -> PykdDebugger:
        opts = dict(options)
        engine = opts.get("engine", "pykd")
        if "kd" not in opts:
            raise ConfigError("the pykd debugger needs kd=CONNECTION (e.g. net:port=N,key=...)")
        timeout = float(opts.get("timeout", "30"))
        stream, where = _open_stream(opts, engine)
        client = AgentClient(stream, where)
        try:
            client.start(60.0)
            attach: dict[str, Any] = {"target": opts["kd"]}
            for key in ("build", "cid_offset"):
                if key in opts:
                    attach[key] = int(opts[key], 0)
            client.call("attach", float(opts.get("attach_timeout", "120")), **attach)
        except BaseException:
            client.close()
            raise
        return cls(client, timeout=timeout)

    def _call(self, op: str, **args: Any) -> Any:
        if self._detached:
            raise DebuggerError(f"agent on {self.client.where}: already detached")
        return self.client.call(op, self.timeout, **args)

    def break_at(self, symbol: str) -> int:
        return int(self._call("break_at", symbol=symbol))

    def clear(self, breakpoint: int) -> None:
        self._call("clear", breakpoint=breakpoint)

    def wait_break(self, timeout: float) -> Stop:
        result = self.client.call("wait_break", timeout + self.timeout, timeout=timeout)
        return Stop(breakpoint=result["breakpoint"], address=int(result["address"]))

    def irql(self) -> int:
        return int(self._call("irql"))

    def current_thread(self) -> ThreadRef:
        result = self._call("thread")
        return ThreadRef(id=int(result["id"]), object=int(result["object"]))

    def read(self, address: int, size: int) -> bytes:
        return base64.b64decode(self._call("read", address=address, size=size))

    def write(self, address: int, data: bytes) -> None:
        self._call("write", address=address, data=base64.b64encode(data).decode())

    def command(self, text: str) -> str:
        """Any debugger command (KD text for pykd/pybag, a raw RSP packet for gdbstub)."""
        return str(self._call("command", text=text))

    def resume(self) -> None:
        self._call("resume")

    def detach(self) -> None:
        if self._detached:
            return
        try:
            self._call("detach")
        finally:
            self._detached = True
            self.client.close()


def _open_stream(opts: dict[str, str], engine: str) -> tuple[Stream, str]:
    if opts.get("host", "local") == "local":
        argv = [sys.executable, "-m", "harness.debug.agent", "--engine", engine]
        return LocalStream(argv), "localhost"
    from harness.guest.ssh import SshTransport

    for key in ("user", "key", "known_hosts"):
        if key not in opts:
            raise ConfigError(f"the pykd debugger on host {opts['host']} needs {key}=...")
    shell = opts.get("shell", "cmd")
    transport = SshTransport(
        opts["host"], user=opts["user"], key_file=opts["key"], known_hosts=opts["known_hosts"],
        port=int(opts.get("port", "22")), shell=shell,
    ).connect()
    data, digest = agent_bundle()
    directory = opts.get("dir", "/tmp" if shell == "sh" else "C:/Windows/Temp")
    path = f"{directory}/hsagent-{digest}.pyz"
    if not transport.exists(path):
        transport.put_bytes(data, path)
    channel = transport.open([opts.get("python", "python"), path, "--engine", engine])
    return SshStream(channel, transport), transport.where
