"""Lab debuggers over a scripted gdbstub: the guest is kept running between stops, the
watchdog kills a session that stops answering, and the agent's gdbstub engine reads the
Linux stand-in's IRQL analogue and current task."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.debug import ThreadRef, rsp
from harness.debug.agent.gdbengine import GdbEngine
from harness.debug.session import GdbSession
from harness.errors import DebuggerError
from harness.lab.debugger import Introspection, LabGdbDebugger

from ..debug.fakestub import FakeStub, qemu_like

XML = """<?xml version="1.0"?>
<feature name="org.gnu.gdb.i386.core">
  <reg name="rax" bitsize="64" regnum="0"/>
  <reg name="rip" bitsize="64" regnum="16"/>
  <reg name="eflags" bitsize="32" regnum="17"/>
  <reg name="cs" bitsize="32" regnum="18"/>
  <reg name="gs_base" bitsize="64" regnum="19"/>
  <reg name="k_gs_base" bitsize="64" regnum="20"/>
  <reg name="cr8" bitsize="64" regnum="21"/>
</feature>"""
PERCPU = 0xFFFF_8880_0F00_0000
TASK = 0xFFFF_8880_0123_4000
LAYOUT = (0x1_0000, 0x1_0008, 0x5A0)  # current_task, preempt_count, task_struct.pid


def _memory() -> dict[int, int]:
    memory: dict[int, int] = {}
    for address, value, size in (
        (PERCPU + LAYOUT[0], TASK, 8),
        (PERCPU + LAYOUT[1], 1, 4),
        (TASK + LAYOUT[2], 4242, 4),
    ):
        for i, byte in enumerate(value.to_bytes(size, "little")):
            memory[address + i] = byte
    return memory


def _handler(delay: float = 0.0) -> object:
    registers = {17: 1 << 9, 18: 0x10, 19: PERCPU, 16: 0xFFFF_FFFF_C000_1010}
    inner = qemu_like(registers, _memory())

    def handle(payload: bytes) -> bytes | None:
        if payload.startswith(b"qXfer:features:read:"):
            annex = payload.split(b":")[3]
            text = (
                '<target><xi:include href="core.xml"/></target>' if annex == b"target.xml" else XML
            )
            return rsp.frame(b"l" + rsp.escape(text.encode()))
        if payload.startswith(b"m"):
            time.sleep(delay)
        if payload in (b"c", b"vCont;c"):
            return None  # running: no stop reply until interrupted
        return inner(payload)

    return handle


class Eyes(Introspection):
    def resolve(self, symbol: str, session: GdbSession | None) -> int:
        return 0xFFFF_FFFF_C000_1010

    def irql(self, session: GdbSession) -> int:
        session.stopped()
        for offset in range(0, 32, 8):  # several reads, each slow on the slow stub
            session.remote.read(PERCPU + offset, 8)
        return 0

    def thread(self, session: GdbSession) -> ThreadRef:
        return ThreadRef(id=1, object=2)


@pytest.fixture
def stub() -> Iterator[FakeStub]:
    server = FakeStub(_handler())  # type: ignore[arg-type]
    yield server
    server.close()


def test_guest_keeps_running_after_attach_and_break_at(stub: FakeStub) -> None:
    debugger = LabGdbDebugger("127.0.0.1", stub.port, Eyes(), watchdog=5.0)
    assert stub.received[-1] in (b"c", b"vCont;c"), stub.received[-3:]
    bp = debugger.break_at("hsprobe!HspWorkerRoutine")
    time.sleep(0.1)
    inserted = [p for p in stub.received if p.startswith(b"Z1,ffffffffc0001010")]
    assert inserted and stub.received[-1] in (b"c", b"vCont;c")
    debugger.clear(bp)
    time.sleep(0.1)
    assert any(p.startswith(b"z1,ffffffffc0001010") for p in stub.received)
    assert stub.received[-1] in (b"c", b"vCont;c")
    debugger.detach()


def test_watchdog_kills_a_debugger_that_stops_answering() -> None:
    slow = FakeStub(_handler(delay=0.3))  # type: ignore[arg-type]
    try:
        debugger = LabGdbDebugger("127.0.0.1", slow.port, Eyes(), watchdog=5.0)
        debugger.watchdog.seconds = 0.5  # one irql() needs several 0.3 s reads
        began = time.monotonic()
        with pytest.raises(
            DebuggerError,
            match=r"did not answer irql within 0\.5 s; its session "
            "was killed",
        ):
            debugger.irql()
        assert time.monotonic() - began < 2.0
        with pytest.raises(DebuggerError, match="killed by its watchdog"):
            debugger.current_thread()
        debugger.detach()  # no hang, no error: the connection is gone already
    finally:
        slow.close()


def test_agent_gdbstub_engine_reads_linux_state(stub: FakeStub) -> None:
    engine = GdbEngine()
    engine.attach(f"127.0.0.1:{stub.port}", 5.0, os="linux", layout=list(LAYOUT))
    assert engine.thread() == {"id": 4242, "object": TASK}
    assert engine.irql() == 2  # preempt_count 1: preemption disabled
    with pytest.raises(DebuggerError, match="layout"):
        GdbEngine().attach(f"127.0.0.1:{stub.port}", 1.0, os="linux", layout=[1])
    engine.detach()
