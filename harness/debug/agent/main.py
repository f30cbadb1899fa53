"""The agent's two processes. The supervisor (what SSH starts) reads requests on stdin,
forwards each to a worker process that owns the engine, and kills that worker when a request
overruns its deadline, because DbgEng cannot cancel a hung attach or wait. A killed or dead
worker ends the session: every later request is answered with a `died` error.

    python agent.pyz --engine pykd          (the supervisor; spawns `--worker` itself)

Standard library only and Python 3.8 syntax.
"""

from __future__ import annotations

import argparse
import base64
import os
import queue
import subprocess
import sys
import threading
from typing import Any, BinaryIO

from harness.debug.agent import engines, wire
from harness.errors import DebuggerError, HarnessTimeoutError

__all__ = ["main"]

#: time a worker gets beyond a request's own timeout before it is killed
GRACE = 5.0


def _dispatch(engine: Any, op: str, args: dict[str, Any], timeout: float) -> Any:
    if op == "attach":
        return engine.attach(args.pop("target"), timeout, **args)
    if op == "read":
        return base64.b64encode(engine.read(int(args["address"]), int(args["size"]))).decode()
    if op == "write":
        return engine.write(int(args["address"]), base64.b64decode(args["data"]))
    if op == "wait_break":
        return engine.wait_break(float(args.get("timeout", timeout)))
    if op == "break_at":
        return engine.break_at(str(args["symbol"]))
    if op == "clear":
        return engine.clear(int(args["breakpoint"]))
    if op == "command":
        return engine.command(str(args["text"]))
    if op == "analyze":  # open a crash dump (no attach needed) and run !analyze -v on it
        return engine.analyze(str(args["dump"]))
    return getattr(engine, op)()  # resume, irql, thread, detach


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
    for line in stdin:
        if not line.strip():
            continue
        ident = None
        try:
            message = wire.decode(line)
            ident = message["id"]
            result = _dispatch(engine, message["op"], dict(message.get("args", {})),
                               float(message.get("timeout", 30)))
            out = wire.response(ident, result)
        except wire.WireError as e:
            out = wire.error(ident, "usage", str(e))
        except HarnessTimeoutError as e:
            out = wire.error(ident, "timeout", str(e))
        except (KeyError, TypeError, ValueError) as e:
            out = wire.error(ident, "usage", f"bad arguments: {type(e).__name__}: {e}")
        except Exception as e:  # any engine failure is reported, never a dead agent
            out = wire.error(ident, "debugger", f"{type(e).__name__}: {e}")
        stdout.write(out)
        stdout.flush()
    return 0


class Supervisor:
    """Relays requests to the worker and enforces each request's deadline."""

    def __init__(self, engine_name: str, stdout: BinaryIO) -> None:
        self.stdout = stdout
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (sys.path[0], env.get("PYTHONPATH")) if p)
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "harness.debug.agent", "--worker", "--engine", engine_name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.dead: str | None = None

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")  # EOF

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
            code = self.proc.wait()
            err = self.proc.stderr.read().decode("utf-8", "replace") if self.proc.stderr else ""
            self.dead = f"the engine process exited with {code}: {err.strip()[-300:]}"
            raise DebuggerError(self.dead)
        return line

    def start(self) -> bytes:
        """The worker's ready event (or its startup error), passed on with our pid."""
        try:
            message = wire.decode(self._reply(60.0))
        except (HarnessTimeoutError, DebuggerError) as e:
            return wire.error(None, "died", str(e))
        if message.get("event") == "ready":
            assert self.proc is not None
            return wire.event("ready", protocol=wire.PROTOCOL, engine=message.get("engine"),
                              pid=os.getpid(), worker=self.proc.pid)
        return wire.encode(message)

    def handle(self, line: bytes) -> bytes:
        try:
            message = wire.decode(line)
        except wire.WireError as e:
            return wire.error(None, "usage", str(e))
        ident = message.get("id")
        if self.dead or self.proc is None or self.proc.stdin is None:
            return wire.error(ident, "died", self.dead or "no engine process")
        try:
            self.proc.stdin.write(line if line.endswith(b"\n") else line + b"\n")
            self.proc.stdin.flush()
            return self._reply(float(message.get("timeout", 30)) + GRACE)
        except HarnessTimeoutError as e:
            return wire.error(ident, "timeout", str(e))
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
    supervisor = Supervisor(args.engine, stdout)
    stdout.write(supervisor.start())
    stdout.flush()
    try:
        for line in stdin:
            if line.strip():
                stdout.write(supervisor.handle(line))
                stdout.flush()
    finally:
        supervisor._kill("the controller closed the session")
    return 0
