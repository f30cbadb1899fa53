"""`PykdDebugger`: the `Debugger` Protocol through the agent on a debugger host (pykd or
pybag over KDNET on Windows; or the gdbstub engine anywhere). The agent bundle is copied
over SFTP (checksum-verified, cached by hash) and run over an SSH exec channel; each
debugger is one agent process, killed by closing the channel when a reply is overdue.

Replies are checked against the protocol (`wire`) before use, every wait ends at one
absolute deadline however many unrelated lines arrive, and the KDNET key is redacted from
every message the agent sends back. `PykdOptions` documents the spec options.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Literal

import msgspec

from harness.debug import Stop, ThreadRef
from harness.debug.agent import wire
from harness.debug.agentstream import LocalStream, SshStream, Stream
from harness.debug.bundle import agent_bundle
from harness.debug.spec import Port, Seconds, convert
from harness.errors import ConfigError, DebuggerError, HarnessTimeoutError

__all__ = ["AgentClient", "PykdDebugger", "PykdOptions"]

log = logging.getLogger(__name__)
#: beyond a command's own timeout: the agent's watchdog grace plus transport slack
SLACK = 10.0
#: how long the agent gets to start and load its engine
START_TIMEOUT = 60.0


class PykdOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Options of `pykd:...` specs (and of lab configs that open this debugger)."""

    kd: str
    """The engine's target: a WinDbg -k string such as "net:port=50000,key=K" (quote it in
    a spec), or HOST:PORT for the gdbstub engine. Secret: never logged or echoed."""
    engine: Literal["pykd", "pybag", "gdbstub"] = "pykd"
    host: str = "local"
    """The debugger host; `local` runs the agent here as a child process, without SSH."""
    user: str | None = None
    identity: str | None = None
    """The SSH private key file (like ssh -i)."""
    known_hosts: str | None = None
    """The only file host keys are checked against; an unknown key is refused."""
    port: Port = 22
    shell: Literal["cmd", "sh", "powershell"] = "cmd"
    """How the host reads command lines (OpenSSH on Windows: cmd unless configured)."""
    python: str = "python"
    dir: str | None = None
    """Where the bundle goes: default /tmp with shell=sh, C:/Windows/Temp otherwise."""
    timeout: Seconds = 30.0
    """Per command, seconds."""
    attach_timeout: Seconds = 120.0
    build: int | None = None
    """Windows build (gdbstub engine; default: read from KUSER_SHARED_DATA)."""
    cid_offset: int | None = None
    """ETHREAD.Cid offset (gdbstub engine) for a build the harness has no offset for."""
    linux_layout: tuple[int, int, int] | None = None
    """gdbstub engine on the Linux stand-in: the kernel's per-CPU current_task and
    preempt_count offsets and task_struct.pid (harness.debug.linux.KernelLayout), which a
    lab target resolves; the engine then reads Linux's IRQL analogue and thread."""
    symbols: str | None = None
    """Symbol path on the debugger host (gdbstub engine; DbgEng has its own, _NT_SYMBOL_PATH)."""


_HINTS = {
    "key": "the SSH private key is identity=FILE; a KDNET key belongs inside kd, "
    'quoted: kd="net:port=N,key=K";'
}


def _validate(opts: PykdOptions) -> None:
    if opts.engine == "gdbstub":
        if not opts.kd.rpartition(":")[2].isdigit():
            raise ConfigError("pykd debugger: with engine=gdbstub, kd must be HOST:PORT")
    elif opts.kd.lower().startswith("net:") and not wire.secrets_of(opts.kd):
        raise ConfigError(
            'pykd debugger: a KDNET kd needs its key; quote the whole value: kd="net:port=N,key=K"'
        )
    if opts.host != "local":
        missing = [k for k in ("user", "identity", "known_hosts") if getattr(opts, k) is None]
        if missing:
            raise ConfigError(
                f"pykd debugger on host {opts.host} needs " + ", ".join(f"{k}=..." for k in missing)
            )


class AgentClient:
    """Requests and replies over a `Stream` to one agent process."""

    def __init__(
        self, stream: Stream, where: str, secrets: tuple[str, ...] = (), *, slack: float = SLACK
    ) -> None:
        self.stream, self.where, self.secrets, self.slack = stream, where, secrets, slack
        self._next = 0
        self.ready: dict[str, Any] = {}

    def start(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        message = self._next_message(deadline, "the agent's ready line")
        if message.get("event") != "ready":
            error = message.get("error", {}).get("message") if "error" in message else None
            self.close()
            raise DebuggerError(
                f"agent on {self.where} did not start: "
                f"{self._clean(error or 'it sent something else first')}"
            )
        if message.get("protocol") != wire.PROTOCOL:
            self.close()
            raise DebuggerError(
                f"agent on {self.where} speaks protocol "
                f"{message.get('protocol')!r}, this harness {wire.PROTOCOL}: "
                "an old bundle? it is re-sent when its hash differs"
            )
        self.ready = message
        return message

    def call(self, op: str, limit: float, **args: Any) -> Any:
        """Run one request; `limit` bounds the agent's work, SLACK the transport's. Lines
        with other ids are skipped, but never past the deadline."""
        self._next += 1
        ident = self._next
        log.debug("agent %s: %s", self.where, op)  # op names only: args may hold KDNET keys
        try:
            line = wire.request(ident, op, limit, **args)
        except wire.WireError as e:
            raise DebuggerError(f"agent on {self.where}: {op}: {self._clean(str(e))}") from None
        self.stream.write(line)
        deadline = time.monotonic() + limit + self.slack
        while True:
            message = self._next_message(deadline, f"the reply to {op}")
            if message.get("id") == ident:
                break
        if not message.get("ok"):
            error = message["error"]
            text = f"agent on {self.where}: {op}: {self._clean(error['message'])}"
            if error["kind"] == "timeout":
                raise HarnessTimeoutError(text)
            raise DebuggerError(text)
        try:
            value = wire.result(op, message.get("result"), args)
            # a KD command's text may show the connection (`!kdnet`, `.kdfiles`): redacted too
            return self._clean(value) if op == "command" else value
        except wire.WireError as e:
            self.close()
            raise DebuggerError(f"agent on {self.where} sent a malformed reply: {e}") from None

    def _clean(self, text: str) -> str:
        return wire.redact(text, self.secrets)

    def _next_message(self, deadline: float, what: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        line = self.stream.read_line(remaining) if remaining > 0 else None
        if line is None:
            self.stream.close()
            raise HarnessTimeoutError(
                f"agent on {self.where} sent no {what} in time; session killed"
            )
        if not line:
            raise DebuggerError(
                f"agent on {self.where} died: {self._clean(self.stream.exit_info())}"
            )
        try:
            return wire.decode_reply(line)
        except wire.WireError as e:
            self.close()
            raise DebuggerError(
                f"agent on {self.where} sent garbage: {self._clean(str(e))}"
            ) from None

    def close(self) -> None:
        self.stream.close()


class PykdDebugger:
    """A kernel debugger behind the agent; attached on construction."""

    def __init__(self, client: AgentClient, *, timeout: float = 30.0) -> None:
        self.client, self.timeout = client, timeout
        self._detached = False

    @classmethod
    def from_options(cls, options: dict[str, str], target: Any = None) -> PykdDebugger:
        opts = convert(options, PykdOptions, "pykd", secret=frozenset({"kd"}), hints=_HINTS)
        return cls.open(opts)

    @classmethod
    def open(cls, opts: PykdOptions) -> PykdDebugger:
        """Start the agent where `opts` says and attach it to `opts.kd`."""
        _validate(opts)
        stream, where = _open_stream(opts)
        client = AgentClient(stream, where, wire.secrets_of(opts.kd))
        try:
            client.start(START_TIMEOUT)
            attach: dict[str, Any] = {"target": opts.kd}
            if opts.build is not None:
                attach["build"] = opts.build
            if opts.cid_offset is not None:
                attach["cid_offset"] = opts.cid_offset
            if opts.linux_layout is not None:
                attach.update(os="linux", layout=list(opts.linux_layout))
            if opts.symbols is not None:
                attach["symbols"] = opts.symbols
            client.call("attach", opts.attach_timeout, **attach)
        except BaseException:
            client.close()
            raise
        return cls(client, timeout=opts.timeout)

    def _call(self, op: str, **args: Any) -> Any:
        if self._detached:
            raise DebuggerError(f"agent on {self.client.where}: already detached")
        return self.client.call(op, self.timeout, **args)

    def break_at(self, symbol: str) -> int:
        bp: int = self._call("break_at", symbol=symbol)
        return bp

    def clear(self, breakpoint: int) -> None:
        self._call("clear", breakpoint=breakpoint)

    def wait_break(self, timeout: float) -> Stop:
        if self._detached:
            raise DebuggerError(f"agent on {self.client.where}: already detached")
        result = self.client.call(
            "wait_break", min(timeout + self.timeout, wire.MAX_TIMEOUT), timeout=timeout
        )
        return Stop(breakpoint=result["breakpoint"], address=result["address"])

    def irql(self) -> int:
        irql: int = self._call("irql")
        return irql

    def current_thread(self) -> ThreadRef:
        result = self._call("thread")
        return ThreadRef(id=result["id"], object=result["object"])

    def read(self, address: int, size: int) -> bytes:
        data: bytes = self._call("read", address=address, size=size)
        return data

    def write(self, address: int, data: bytes) -> None:
        self._call("write", address=address, data=data)

    def command(self, text: str) -> str:
        """Any debugger command (KD text for pykd/pybag, a raw RSP packet for gdbstub)."""
        out: str = self._call("command", text=text)
        return out

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


def _open_stream(opts: PykdOptions) -> tuple[Stream, str]:
    if opts.host == "local":
        argv = [sys.executable, "-m", "harness.debug.agent", "--engine", opts.engine]
        return LocalStream(argv), "localhost"
    from harness.guest.ssh import SshTransport

    assert opts.user and opts.identity and opts.known_hosts  # _validate checked them
    transport = SshTransport(
        opts.host,
        user=opts.user,
        key_file=os.path.expanduser(opts.identity),
        known_hosts=os.path.expanduser(opts.known_hosts),
        port=opts.port,
        shell=opts.shell,
    ).connect()
    data, digest = agent_bundle()
    directory = opts.dir or ("/tmp" if opts.shell == "sh" else "C:/Windows/Temp")
    path = f"{directory}/hsagent-{digest}.pyz"
    if not transport.exists(path):
        transport.put_bytes(data, path)
    channel = transport.open([opts.python, path, "--engine", opts.engine])
    return SshStream(channel, transport), transport.where
