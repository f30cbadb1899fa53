"""The agent as a local process: the bundle is standard-library-only Python 3.8, requests
are served, and a hung or dying engine becomes a clear error within the time limit.
"""

from __future__ import annotations

import ast
import io
import json
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
from harness.debug.agent.main import lines
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


def test_bundle_uses_no_api_newer_than_python38(tmp_path: Path) -> None:
    # vermin knows which Python each module, function and syntax needs
    with zipfile.ZipFile(io.BytesIO(agent_bundle()[0])) as z:
        z.extractall(tmp_path)
    vermin = Path(sys.executable).with_name("vermin")
    proc = subprocess.run(
        [str(vermin), "-t=3.8-", "--violations", "--no-tips", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Minimum required versions: 3.8" in proc.stdout


def test_bundle_runs_on_a_bare_interpreter(tmp_path: Path) -> None:
    # -I -S: no site-packages, so any non-stdlib import (msgspec, pefile) would fail here,
    # in the supervisor and in the worker it spawns; the working directory holds a decoy
    # `harness` package that neither may import
    bundle = tmp_path / "agent.pyz"
    bundle.write_bytes(agent_bundle()[0])
    (tmp_path / "harness").mkdir()
    (tmp_path / "harness" / "__init__.py").write_text("raise SystemExit('decoy imported')\n")
    env = {"PATH": os.environ.get("PATH", "")}
    proc = subprocess.run(
        [sys.executable, "-I", "-S", str(bundle), "--engine", "gdbstub"],
        input=wire.request(1, "irql", 5) + wire.request(2, "command", 5, text="x"),
        capture_output=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    lines = [wire.decode(line) for line in proc.stdout.splitlines()]
    assert lines[0]["event"] == "ready", proc.stderr.decode()
    assert [m["error"]["message"] for m in lines[1:]] == [
        "DebuggerError: not attached: send attach first"
    ] * 2


@pytest.fixture
def stub() -> Iterator[FakeStub]:
    fake = FakeStub(qemu_like({RIP: 0xFFFFF80000001000, CR8: 2}, {0x2000: 0xAB}))
    yield fake
    fake.close()


def client(
    python: str = sys.executable, bundle: Path | None = None, cwd: Path | None = None
) -> AgentClient:
    if bundle is None:
        argv = [python, "-m", "harness.debug.agent", "--engine", "gdbstub"]
    else:
        argv = [python, "-I", str(bundle), "--engine", "gdbstub"]
    stream = LocalStream(argv) if cwd is None else _in(cwd, argv)
    agent = AgentClient(stream, "localhost")
    agent.start(60)
    return agent


def _in(cwd: Path, argv: list[str]) -> LocalStream:
    here = os.getcwd()
    os.chdir(cwd)
    try:
        return LocalStream(argv)
    finally:
        os.chdir(here)


@pytest.fixture(scope="session")
def python39() -> str:
    """A real CPython 3.9 (Debian 11's), unpacked by scripts/old-python (setup-host runs it)."""
    script = Path(__file__).resolve().parents[3] / "scripts" / "old-python"
    proc = subprocess.run([str(script)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(
            f"scripts/old-python failed (make test runs it through setup-host):\n"
            f"{proc.stderr[-2000:]}",
            pytrace=False,
        )
    return proc.stdout.strip().splitlines()[-1]


def test_the_bundle_serves_the_protocol_on_python39(
    stub: FakeStub, python39: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "agent.pyz"
    bundle.write_bytes(agent_bundle()[0])
    agent = client(python39, bundle, cwd=tmp_path)
    version = subprocess.run(
        [python39, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.strip() == "(3, 9)"
    agent.call("attach", 10, target=f"127.0.0.1:{stub.port}")
    debugger = PykdDebugger(agent, timeout=10)
    assert debugger.irql() == 2
    assert debugger.read(0x2000, 2) == b"\xab\x00"
    stub.handler = lambda payload: None  # silent from now on: the wait must time out
    started = time.monotonic()
    # socket.timeout is not TimeoutError before 3.10: the engine must still call it a timeout
    with pytest.raises(HarnessTimeoutError, match=r"sent no .* in time"):
        agent.call("irql", 1.5)
    assert time.monotonic() - started < 5
    agent.close()


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


def test_hostile_requests_get_usage_errors_and_the_agent_lives() -> None:
    hostile = [
        b'{"id":1,"op":"irql","args":{},"timeout":"30"}',
        b'{"id":2,"op":"irql","args":{}}',
        b'{"id":3,"op":"irql","args":{},"timeout":-1}',
        b'{"id":4,"op":"irql","args":{},"timeout":1e300}',
        b'{"id":5,"op":"irql","args":{},"timeout":Infinity}',
        b'{"id":6,"op":"irql","args":{},"timeout":NaN}',
        b'{"id":7,"op":"irql","args":' + b"[" * 50_000 + b"]" * 50_000 + b',"timeout":1}',
        b'{"id":8,"op":"read","args":{"address":"x","size":1},"timeout":1}',
        b'{"id":9,"op":"write","args":{"address":1,"data":"%%%"},"timeout":1}',
        b'{"id":10,"op":"wait_break","args":{"timeout":null},"timeout":1}',
        b"\xff\xfe garbage",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "harness.debug.agent", "--engine", "gdbstub"],
        input=b"\n".join(hostile) + b"\n" + wire.request(11, "irql", 5),
        capture_output=True,
        timeout=60,
    )
    replies = [wire.decode(line) for line in proc.stdout.splitlines()]
    assert replies[0]["event"] == "ready"
    kinds = [(r["id"], r["error"]["kind"]) for r in replies[1:]]
    # a line that is not JSON (NaN, Infinity, nesting beyond the parser) has no id to name
    ids = [1, 2, 3, 4, -1, -1, -1, 8, 9, 10, -1]
    assert kinds[:-1] == [(i, "usage") for i in ids]
    # the last, valid request reached the engine: the agent survived all of the above
    assert kinds[-1] == (11, "debugger")
    assert "not attached" in replies[-1]["error"]["message"]


def test_lines_caps_a_line_without_an_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_LINE", 100)
    stream = io.BytesIO(b"a" * 250 + b"\n" + b"ok\n")
    assert list(lines(stream)) == [None, b"ok\n"]


FAKE_AGENT = """
import json, sys, time
print(json.dumps({"event": "ready", "protocol": 1, "pid": 1, "worker": 1}), flush=True)
replies = json.loads(sys.argv[1])
for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "resume":  # a flood of replies to someone else
        while True:
            print(json.dumps({"id": 999, "ok": True, "result": None}), flush=True)
            time.sleep(0.01)
    print(replies[request["op"]].replace("ID", str(request["id"])), flush=True)
"""


def fake_agent(replies: dict[str, str], slack: float = 1.0) -> AgentClient:
    stream = LocalStream([sys.executable, "-c", FAKE_AGENT, json.dumps(replies)])
    agent = AgentClient(stream, "localhost", ("s3cr3t",), slack=slack)
    agent.start(10)
    return agent


@pytest.mark.parametrize(
    ("op", "args", "reply", "match"),
    [
        ("read", {"address": 1, "size": 2}, '{"id":ID,"ok":true,"result":"!!"}', "base64"),
        ("read", {"address": 1, "size": 2}, '{"id":ID,"ok":true,"result":"AAAA"}', "3 bytes"),
        ("irql", {}, '{"id":ID,"ok":true,"result":"two"}', "integer"),
        ("thread", {}, '{"id":ID,"ok":true,"result":{"id":1}}', "integer"),
        ("wait_break", {"timeout": 1}, '{"id":ID,"ok":true,"result":[]}', "expected a stop"),
        ("irql", {}, '{"id":ID,"ok":false,"error":{"kind":"debugger"}}', "malformed error"),
        ("irql", {}, '{"id":ID,"ok":false}', "malformed error"),
        ("irql", {}, '{"id":ID,"ok":"maybe"}', "neither a request"),
        ("irql", {}, "[1, 2]", "not a JSON object"),
    ],
)
def test_malformed_replies_are_debugger_errors(op: str, args: dict, reply: str, match: str) -> None:
    agent = fake_agent({op: reply})
    try:
        with pytest.raises(DebuggerError, match=match):
            agent.call(op, 5, **args)
    finally:
        agent.close()


def test_error_messages_are_redacted() -> None:
    agent = fake_agent(
        {
            "irql": '{"id":ID,"ok":false,"error":{"kind":"debugger",'
            '"message":"cannot attach net:port=1,key=s3cr3t"}}'
        }
    )
    try:
        with pytest.raises(DebuggerError) as caught:
            agent.call("irql", 5)
        assert "s3cr3t" not in str(caught.value) and "key=***" in str(caught.value)
    finally:
        agent.close()


def test_command_output_is_redacted() -> None:
    agent = fake_agent({"command": '{"id":ID,"ok":true,"result":"key s3cr3t in use"}'})
    try:
        assert agent.call("command", 5, text="!kdnet") == "key *** in use"
    finally:
        agent.close()


def test_replies_to_other_ids_cannot_extend_the_wait() -> None:
    agent = fake_agent({}, slack=0.5)
    started = time.monotonic()
    with pytest.raises(HarnessTimeoutError, match="session killed"):
        agent.call("resume", 1.0)
    assert time.monotonic() - started < 3  # 1 s limit + 0.5 s slack, not forever
    agent.close()


def test_close_is_safe_whatever_the_agent_did() -> None:
    for _ in range(5):
        stream = LocalStream([sys.executable, "-c", "import sys; sys.exit(3)"])
        stream.proc.wait(timeout=30)
        with pytest.raises(DebuggerError, match="agent died"):
            for _ in range(64):  # until the pipe reports the dead reader
                stream.write(b"x" * 65536)
        stream.close()  # unflushed bytes for a dead reader: no BrokenPipeError
        stream.close()
        assert stream.read_line(1) == b""
