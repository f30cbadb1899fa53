"""KD output parsers against golden text in the documented formats."""

from __future__ import annotations

import pytest

from harness.debug.agent import kdtext

IRQL_X64 = "Debugger saved IRQL for processor 0x0 -- 0 (LOW_LEVEL)\n"
IRQL_VERBOSE = (
    "kd> !irql\nDebugger saved IRQL for processor 0x1 -- 2 (DISPATCH_LEVEL) [Dispatch level]\n"
)
THREAD = """\
THREAD ffffcb088f0a4480  Cid 0e34.3814  Teb: 0000001a27ca6000 Win32Thread: 0000000000000000 RUNNING on processor 0
Not impersonating
DeviceMap                 ffffb80842016c20
Owning Process            ffffcb08905397c0       Image:         MsMpEng.exe
Attached Process          N/A            Image:         N/A
"""  # noqa: E501
THREAD_SYSTEM = (
    "THREAD ffff8f8c`1a2b3080  Cid 0004.00f8  Teb: 0000000000000000 "
    "Win32Thread: 0000000000000000 WAIT: (WrQueue) KernelMode Non-Alertable\n"
)
LAST_BP = (
    "Last event: Hit breakpoint 0\n  debugger time: Sat Nov 21 19:40:01.123 2026 (UTC + 0:00)\n"
)
LAST_BREAKIN = (
    "Last event: 4.0: Break instruction exception - code 80000003 (first chance)\n"
    "  debugger time: Sat Nov 21 19:40:01.123 2026 (UTC + 0:00)\n"
)
LAST_AV = "Last event: 1f4.d0c: Access violation - code c0000005 (first chance)\n"


def test_irql() -> None:
    assert kdtext.parse_irql(IRQL_X64) == {"processor": 0, "irql": 0, "name": "LOW_LEVEL"}
    assert kdtext.parse_irql(IRQL_VERBOSE)["irql"] == 2


def test_thread_running() -> None:
    assert kdtext.parse_thread(THREAD) == {
        "object": 0xFFFFCB088F0A4480,
        "process_id": 0xE34,
        "thread_id": 0x3814,
        "processor": 0,
    }


def test_thread_waiting_with_backtick_address() -> None:
    parsed = kdtext.parse_thread(THREAD_SYSTEM)
    assert parsed["object"] == 0xFFFF8F8C1A2B3080
    assert (parsed["process_id"], parsed["thread_id"], parsed["processor"]) == (4, 0xF8, None)


def test_lastevent() -> None:
    assert kdtext.parse_lastevent(LAST_BP)["kind"] == "breakpoint"
    assert kdtext.parse_lastevent(LAST_BP)["breakpoint"] == 0
    assert kdtext.parse_lastevent(LAST_BREAKIN)["kind"] == "break"
    assert kdtext.parse_lastevent(LAST_AV)["code"] == 0xC0000005
    assert kdtext.parse_lastevent(LAST_AV)["kind"] == "exception"


@pytest.mark.parametrize("parser", [kdtext.parse_irql, kdtext.parse_thread, kdtext.parse_lastevent])
def test_unexpected_text_is_a_clear_error(parser: object) -> None:
    with pytest.raises(kdtext.KdTextError, match="cannot parse"):
        parser("No export irql found\n")  # type: ignore[operator]
