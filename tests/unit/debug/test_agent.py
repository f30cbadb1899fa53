"""The agent as a local process: the bundle is standard-library-only Python 3.8, requests
are served, and a hung or dying engine becomes a clear error within the time limit.
"""

from __future__ import annotations

import ast
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.debug.agent import wire
from harness.debug.agentstream import LocalStream
from harness.debug.bundle import agent_bundle
from harness.debug.pykd import AgentClient, PykdDebugger
from harness.errors import DebuggerError, HarnessTimeoutError

from .fakestub import FakeStub, qemu_like

RIP, CR8 = 16, 20


def test_bundle_is_python38_syntax_and_deterministic() -> None:
    data, digest = agent_bundle()
    assert agent_bundle() == (data, digest)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        for name in names:
            source = z.read(name).decode()
            ast.parse(source, name, feature_version=(3, 8))
            compile(source, name, "exec")
    assert "harness/debug/agent/main.py" in names and "__main__.py" in names


def test_bundle_runs_on_a_bare_interpreter(tmp_path: Path) -> None:
    # -I -S: no site-packages, so any non-stdlib import (msgspec, pefile) would fail here
    bundle = tmp_path / "agent.pyz"
    bundle.write_bytes(agent_bundle()[0])
    env = {"PATH": os.environ.get("PATH", "")}
    proc = subprocess.run(
        [sys.executable, "-I", "-S", str(bundle), "--engine", "gdbstub"],
        input=wire.request(1, "irql", 5) + wire.request(2, "command", 5, text="x"),
        capture_output=True, timeout=60, env=env,
    )
    lines = [wire.decode(line) for line in proc.stdout.splitlines()]
    assert lines[0]["event"] == "ready", proc.stderr.decode()
    assert [m["error"]["message"] for m in lines[1:]] == ["DebuggerError: not attached: "
                                                          "send attach first"] * 2


@pytest.fixture
def stub() -> Iterator[FakeStub]:
    fake = FakeStub(qemu_like({RIP: 0xFFFFF80000001000, CR8: 2}, {0x2000: 0xAB}))
    yield fake
    fake.close()


def client() -> AgentClient:
    argv = [sys.executable, "-m", "harness.debug.agent", "--engine", "gdbstub"]
    agent = AgentClient(LocalStream(argv), "localhost")
    agent.start(60)
    return agent


def test_local_agent_serves_the_debugger_protocol(stub: FakeStub) -> None:
    agent = client()
    agent.call("attach", 10, target=f"127.0.0.1:{stub.port}")
    debugger = PykdDebugger(agent, timeout=10)
    assert debugger.irql() == 2
    assert debugger.read(0x2000, 2) == b"\xab\x00"
    assert debugger.break_at("0xfffff80000001000") == 1
    with pytest.raises(DebuggerError, match="0xADDRESS only"):
        debugger.break_at("hsprobe!HspWorkerRoutine")
    debugger.detach()
    debugger.detach()


def test_hung_engine_is_killed_by_the_watchdog(stub: FakeStub) -> None:
    agent = client()
    agent.call("attach", 10, target=f"127.0.0.1:{stub.port}")
    os.kill(agent.ready["worker"], signal.SIGSTOP)  # a DbgEng call that never returns
    started = time.monotonic()
    with pytest.raises(HarnessTimeoutError, match="killed"):
        agent.call("irql", 1)
    assert time.monotonic() - started < 15
    with pytest.raises(DebuggerError, match="killed"):
        agent.call("irql", 1)  # the session is over, and says why
    agent.close()


def test_agent_dying_mid_command_is_a_clear_error(stub: FakeStub) -> None:
    agent = client()
    agent.call("attach", 10, target=f"127.0.0.1:{stub.port}")
    stub.handler = lambda payload: None  # the stub stops answering: wait_break would block
    os.kill(agent.ready["pid"], signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(DebuggerError, match="died"):
        agent.call("wait_break", 60, timeout=50)
    assert time.monotonic() - started < 10
    agent.close()


def test_silent_agent_times_out_and_is_killed() -> None:
    stream = LocalStream([sys.executable, "-c", "import time; time.sleep(60)"])
    agent = AgentClient(stream, "localhost")
    started = time.monotonic()
    with pytest.raises(HarnessTimeoutError, match="session killed"):
        agent.start(1.0)
    assert time.monotonic() - started < 5
    assert stream.proc.poll() is not None
