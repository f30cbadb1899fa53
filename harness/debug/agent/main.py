"""The agent's two processes. The supervisor (what SSH starts) reads requests on stdin,
forwards each to a worker process that owns the engine, and kills that worker when a request
overruns its deadline, because DbgEng cannot cancel a hung attach or wait. A killed or dead
worker ends the session: every later request is answered with a `died` error.

    python agent.pyz --engine pykd          (the supervisor; spawns `--worker` itself)

Every request is checked (`wire.decode_request`) before anything acts on it, so a hostile or
broken controller gets `usage` errors, never a dead agent; error messages never carry the
secret of a connection string.

Standard library only and Python 3.8 syntax.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

import harness
from harness.debug.agent import engines, wire
from harness.errors import DebuggerError, HarnessTimeoutError

__all__ = ["main"]

#: time a worker gets beyond a request's own timeout before it is killed
GRACE = 5.0
#: how long an engine may take to load (import pykd, create the DbgEng client)
START_TIMEOUT = 60.0
#: the worker runs from the same code as the supervisor (the zipapp or the source tree),
#: never from whatever `harness` the debugger host's current directory holds
#: stands for a worker line over MAX_LINE: not a reply, so the worker is killed
_TOO_LONG = b"a line longer than the protocol allows\n"
_WORKER = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from harness.debug.agent.main import main; sys.exit(main())"
)


def _dispatch(engine: Any, op: str, args: dict[str, Any], timeout: float) -> Any:
    if hasattr(engine, "limit"):  # an engine that can bound its own work does, and says so
        engine.limit(timeout)
    if op == "attach":
        target = args.pop("target")
        return engine.attach(target, timeout, **args)
    if op == "read":
        return engine.read(args["address"], args["size"])
    if op == "write":
        return engine.write(args["address"], args["data"])
    if op == "wait_break":
        return engine.wait_break(args["timeout"])
    if op == "break_at":
        return engine.break_at(args["symbol"])
    if op == "clear":
        return engine.clear(args["breakpoint"])
    if op == "command":
        return engine.command(args["text"])
    if op == "analyze":  # open a crash dump (no attach needed) and run !analyze -v on it
        return engine.analyze(args["dump"])
    return getattr(engine, op)()  # resume, irql, thread, detach


def lines(stream: IO[bytes]) -> Iterator[bytes | None]:
    """Non-blank lines of `stream`, each at most MAX_LINE bytes; None for a longer one (its
    rest is skipped), so a line without an end cannot fill memory."""
    while True:
        line = stream.readline(wire.MAX_LINE + 1)
        if not line:
            return
        if len(line) > wire.MAX_LINE and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(wire.MAX_LINE + 1)
            yield None
        elif line.strip():
            yield line


def _serve(engine: Any, line: bytes | None, secrets: list[tuple[str, ...]]) -> bytes:
    """One request to one reply; secrets[0] grows with each attach's connection string."""
    ident = None
    try:
        if line is None:
            raise wire.WireError(f"line longer than {wire.MAX_LINE} bytes")
        ident, op, args, timeout = wire.decode_request(line)
        if op == "attach":
            secrets[0] += wire.secrets_of(args["target"])
        value = _dispatch(engine, op, args, timeout)
        if op == "attach":
            value = {
                k: wire.redact(v, secrets[0]) if isinstance(v, str) else v for k, v in value.items()
            }
        return wire.response(ident, value)
    except wire.WireError as e:
        return wire.error(e.ident, "usage", wire.redact(str(e), secrets[0]))
    except HarnessTimeoutError as e:
        return wire.error(ident, "timeout", wire.redact(str(e), secrets[0]))
    except Exception as e:  # any engine failure is reported, never a dead agent
        text = f"{type(e).__name__}: {e}"
        return wire.error(ident, "debugger", wire.redact(text, secrets[0]))


def worker(engine_name: str, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Serve requests with the engine, one at a time, until stdin closes."""
    try:
        engine = engines.load(engine_name)
    except DebuggerError as e:
        stdout.write(wire.error(None, "debugger", str(e)))
        stdout.flush()
        return 1
    stdout.write(wire.event("ready", engine=engine_name, pid=os.getpid()))
    stdout.flush()
    secrets: list[tuple[str, ...]] = [()]
    for line in lines(stdin):
        stdout.write(_serve(engine, line, secrets))
        stdout.flush()
    return 0


def _code_root() -> str:
    """The directory (or zipapp) that holds the `harness` package running now."""
    return os.path.dirname(os.path.dirname(os.path.abspath(harness.__file__)))


class Supervisor:
    """Relays requests to the worker and enforces each request's deadline."""

    def __init__(self, engine_name: str) -> None:
        # the worker inherits the interpreter's isolation (-I, -S) along with its code
        flags = ["-I"] * sys.flags.isolated + ["-S"] * sys.flags.no_site
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [
                sys.executable,
                *flags,
                "-c",
                _WORKER,
                _code_root(),
                "--worker",
                "--engine",
                engine_name,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.stderr: list[bytes] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        self.dead: str | None = None

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in lines(self.proc.stdout):
            self.lines.put(line if line is not None else _TOO_LONG)
        self.lines.put(b"")  # EOF

    def _pump_stderr(self) -> None:
        # read continuously (a full pipe would block the worker) and keep only the tail
        assert self.proc is not None and self.proc.stderr is not None
        stream = self.proc.stderr
        for chunk in iter(lambda: stream.read1(4096), b""):  # type: ignore[attr-defined]
            self.stderr = [b"".join([*self.stderr, chunk])[-2048:]]

    def _kill(self, why: str) -> None:
        self.dead = why
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _reply(self, timeout: float) -> bytes:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self._kill("the engine was killed after overrunning a request")
            raise HarnessTimeoutError(f"engine silent for {timeout:g} s; killed") from None
        if not line:
            assert self.proc is not None
            try:
                code = self.proc.wait(timeout=GRACE)
            except subprocess.TimeoutExpired:
                code = None
            err = b"".join(self.stderr).decode("utf-8", "replace").strip()[-300:]
            self.dead = f"the engine process exited with {code}: {err}"
            raise DebuggerError(self.dead)
        return line

    def start(self) -> bytes:
        """The worker's ready event (or its startup error), passed on with our pid."""
        try:
            message = wire.decode_reply(self._reply(START_TIMEOUT))
        except (HarnessTimeoutError, DebuggerError, wire.WireError) as e:
            return wire.error(None, "died", str(e))
        if message.get("event") == "ready":
            assert self.proc is not None
            return wire.event(
                "ready",
                protocol=wire.PROTOCOL,
                engine=message.get("engine"),
                pid=os.getpid(),
                worker=self.proc.pid,
            )
        return wire.encode(message)

    def handle(self, line: bytes | None) -> bytes:
        ident = None
        try:
            if line is None:
                raise wire.WireError(f"line longer than {wire.MAX_LINE} bytes")
            ident, _, _, timeout = wire.decode_request(line)
        except wire.WireError as e:
            return wire.error(e.ident, "usage", str(e))
        if self.dead or self.proc is None or self.proc.stdin is None:
            return wire.error(ident, "died", self.dead or "no engine process")
        try:
            self.proc.stdin.write(line if line.endswith(b"\n") else line + b"\n")
            self.proc.stdin.flush()
            reply = self._reply(timeout + GRACE)
            wire.decode_reply(reply)
            return reply
        except HarnessTimeoutError as e:
            return wire.error(ident, "timeout", str(e))
        except wire.WireError as e:
            self._kill(f"the engine sent a malformed reply ({e})")
            return wire.error(ident, "died", self.dead or str(e))
        except (DebuggerError, OSError) as e:
            return wire.error(ident, "died", self.dead or str(e))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hsagent")
    parser.add_argument("--engine", required=True, choices=sorted(engines.ENGINES))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    if args.worker:
        return worker(args.engine, stdin, stdout)
    supervisor = Supervisor(args.engine)
    stdout.write(supervisor.start())
    stdout.flush()
    try:
        for line in lines(stdin):
            stdout.write(supervisor.handle(line))
            stdout.flush()
    finally:
        supervisor._kill("the controller closed the session")
    return 0
