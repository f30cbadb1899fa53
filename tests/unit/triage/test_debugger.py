"""The agent's analyze request, end to end over a real local agent process. Only the pykd
engine (Windows) runs !analyze; every other engine answers with one clear error."""

from __future__ import annotations

import pytest

from harness.debug.agent import wire
from harness.debug.pykd import PykdOptions
from harness.errors import DebuggerError
from harness.triage.debugger import analyze_on_host


def test_analyze_is_a_protocol_request() -> None:
    message = wire.decode(wire.request(3, "analyze", 600.0, dump="C:/crashes/memory.dmp"))
    assert message["op"] == "analyze" and message["args"] == {"dump": "C:/crashes/memory.dmp"}


def test_an_engine_without_analyze_says_so() -> None:
    with pytest.raises(DebuggerError, match="the gdbstub engine has no !analyze"):
        analyze_on_host(
            PykdOptions(kd="127.0.0.1:1", engine="gdbstub"), "/tmp/memory.dmp", timeout=30
        )


def test_pykd_missing_on_this_host_is_named() -> None:
    with pytest.raises(DebuggerError, match="pykd is not installed"):
        analyze_on_host(PykdOptions(kd="net:port=1,key=1.2.3.4"), "/tmp/memory.dmp", timeout=30)
