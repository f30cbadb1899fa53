"""capture(): what it writes when the dump fails or cannot be taken (the real dump path is in
tests/integration/triage, on a real libvirt machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.contract.jsonl import read_trace
from harness.contract.trace import Mark
from harness.errors import InfrastructureError
from harness.triage.capture import capture
from harness.triage.crashdir import read_info


class _Console:
    def __init__(self, text: str) -> None:
        self._text = text

    def text(self, since: int = 0) -> str:
        return self._text[since:]


class _DumpFails:
    """Stands in for a machine whose hypervisor refuses the dump."""

    name = "hs-test-0"

    def __init__(self) -> None:
        self.console = _Console("boot\nKernel panic - not syncing: x\n")

    def dump(self, path: Path, fmt: str = "auto") -> str:
        raise InfrastructureError(f"{self.name}: memory dump to {path} failed: no space")


def test_a_failed_dump_is_recorded_and_the_rest_kept(tmp_path: Path) -> None:
    crash = tmp_path / "crashes" / "swap-r2"
    info = capture(
        _DumpFails(),
        crash,
        scenario="swap",
        repetition=2,  # type: ignore[arg-type]
        profile="windows",
        detected_by="hyperv",
        bugcheck=(0xD1, [0, 2, 0, 1]),
        console_since=5,
        trace_tail=[Mark(seq=9, t=1, label="before")],
    )
    assert info.dump_error is not None and "no space" in info.dump_error
    assert read_info(crash) == info
    assert info.bugcheck is not None and info.bugcheck.code == 0xD1
    assert (crash / "console.log").read_text() == "Kernel panic - not syncing: x\n"
    with (crash / "trace-tail.jsonl").open("rb") as f:
        _, records = read_trace(f)
        assert [r.seq for r in records] == [9]
    with pytest.raises(InfrastructureError, match="already holds a crash"):
        capture(
            _DumpFails(),
            crash,
            scenario="swap",
            profile="windows",  # type: ignore[arg-type]
            detected_by="hyperv",
        )
