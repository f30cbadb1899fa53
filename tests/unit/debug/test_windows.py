"""Windows introspection over fake registers and memory; the DbgEng engine over a fake pykd."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest

from harness.debug import windows
from harness.debug.agent.dbgeng import PykdEngine
from harness.errors import ConfigError, DebuggerError, HarnessTimeoutError, InputError

THREAD = 0xFFFFB00012345080
KPCR, USER_GS, KERNEL_GS = 0xFFFFF80011110000, 0x7FF0000, 0xFFFFF80022220000


class Cpu:
    def __init__(self, regs: dict[str, int], memory: dict[int, bytes]) -> None:
        self.regs, self.memory = regs, memory

    def register(self, name: str) -> int:
        return self.regs[name]

    def read(self, address: int, size: int) -> bytes:
        if address not in self.memory:
            raise DebuggerError(f"cannot read {address:#x}")
        return self.memory[address][:size]

    def write(self, address: int, data: bytes) -> None:
        self.memory[address] = data


def q(value: int) -> bytes:
    return value.to_bytes(8, "little")


def test_irql_is_cr8() -> None:
    assert windows.irql(Cpu({"cr8": 2}, {})) == 2


@pytest.mark.parametrize(("cs", "expected"), [(0x10, KPCR), (0x33, KERNEL_GS)])
def test_kpcr_follows_cs_rpl(cs: int, expected: int) -> None:
    cpu = Cpu({"cs": cs, "gs_base": KPCR if cs == 0x10 else USER_GS, "k_gs_base": KERNEL_GS}, {})
    assert windows.kpcr(cpu) == expected


def test_current_thread_and_id_from_the_build_table() -> None:
    cpu = Cpu(
        {"cs": 0x10, "gs_base": KPCR},
        {
            KPCR + 0x188: q(THREAD),
            THREAD + 0x478 + 8: q(0x1F4C),
            windows.KUSER_BUILD: (19045).to_bytes(4, "little"),
        },
    )
    thread = windows.current_thread(cpu, cpu)
    assert thread == THREAD
    assert windows.thread_id(cpu, thread, windows.cid_offset(cpu, cpu)) == 0x1F4C


@pytest.mark.parametrize(("build", "offset"), [(19041, 0x478), (19045, 0x478), (26100, 0x508)])
def test_the_table_covers_windows_10_and_the_builds_with_driverproxy(
    build: int, offset: int
) -> None:
    cpu = Cpu({}, {windows.KUSER_BUILD: (0xF0000000 | build).to_bytes(4, "little")})
    assert windows.cid_offset(cpu, cpu) == offset  # the checked-build nibble is ignored


def test_unknown_build_is_an_error_not_a_guess() -> None:
    cpu = Cpu({}, {THREAD + 0x500: q(4)})
    with pytest.raises(
        ConfigError,
        match=r"no ETHREAD\.Cid offset known for Windows build "
        r"26200.*symbol path",
    ):
        windows.cid_offset(cpu, cpu, build=26200)
    assert windows.cid_offset(cpu, cpu, build=26200, explicit=0x4F8) == 0x4F8
    assert windows.thread_id(cpu, THREAD, 0x4F8) == 4


def test_current_thread_rejects_a_non_kernel_pointer() -> None:
    cpu = Cpu({"cs": 0x10, "gs_base": KPCR}, {KPCR + 0x188: q(0x1234)})
    with pytest.raises(DebuggerError, match="not a kernel address"):
        windows.current_thread(cpu, cpu)


def test_export_rva_refuses_a_non_pe_file(tmp_path: Path) -> None:
    junk = tmp_path / "hsprobe.sys"
    junk.write_bytes(b"not a PE image")
    with pytest.raises(InputError, match=r"hsprobe\.sys"):
        windows.export_rva(str(junk), "HspWorkerRoutine")


@pytest.fixture
def fake_pykd(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """pykd's verbs as the engine uses them; `go` blocks until `breakin` or a hit."""
    gone = threading.Event()
    state = types.SimpleNamespace(rip=0x1000, hit=False, last="Last event: Hit breakpoint 0")
    outputs = {
        "!irql": "Debugger saved IRQL for processor 0x0 -- 0 (LOW_LEVEL)\n",
        "!thread -1 0": "THREAD ffffb00012345080  Cid 0004.1f4c  Teb: 0000000000000000 "
        "Win32Thread: 0000000000000000 RUNNING on processor 0\n",
    }

    def go() -> None:
        if state.hit:
            state.rip, state.last = 0xFFFFF80000401000, "Last event: Hit breakpoint 0"
            return
        gone.wait(30)
        state.last = "Last event: 0.0: Break instruction exception - code 80000003"

    module = types.SimpleNamespace(
        dbgCommand=lambda text: state.last if text == ".lastevent" else outputs[text],
        reg=lambda name: state.rip,
        go=go,
        breakin=gone.set,
        setBp=lambda address: types.SimpleNamespace(remove=lambda: None),
        getOffset=lambda symbol: 0xFFFFF80000401000,
    )
    monkeypatch.setitem(sys.modules, "pykd", module)
    return state


def test_pykd_engine_irql_thread_and_breakpoints(fake_pykd: types.SimpleNamespace) -> None:
    engine = PykdEngine()
    assert engine.irql() == 0  # from !irql, not CR8 (KD's break raised it)
    assert engine.thread() == {"id": 0x1F4C, "object": THREAD}
    bp = engine.break_at("hsprobe!HspWorkerRoutine")
    fake_pykd.hit = True
    assert engine.wait_break(5)["breakpoint"] == bp


def test_pykd_engine_wait_times_out_by_breaking_in(fake_pykd: types.SimpleNamespace) -> None:
    engine = PykdEngine()
    engine.break_at("hsprobe!HspWorkerRoutine")
    with pytest.raises(HarnessTimeoutError, match=r"within 0\.3 s"):
        engine.wait_break(0.3)
