"""The debugger resolves `module!HspWorkerRoutine` from the built images' export tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.actions import ROUTINE_EXPORT
from harness.debug.windows import export_rva
from harness.errors import InputError


@pytest.mark.parametrize("image", ["hsprobe.sys", "hsprobe2.sys"])
def test_routine_export_resolves_inside_the_text_section(dist: Path, image: str) -> None:
    import pefile

    path = dist / image
    rva = export_rva(str(path), ROUTINE_EXPORT)
    pe = pefile.PE(str(path), fast_load=True)
    text = next(s for s in pe.sections if s.Name.rstrip(b"\0") == b".text")
    assert text.VirtualAddress <= rva < text.VirtualAddress + text.Misc_VirtualSize
    assert export_rva(str(path), "HspWorkerRoutineEp2") != rva


def test_missing_export_is_a_clear_input_error(dist: Path) -> None:
    with pytest.raises(InputError, match="exports no 'NoSuchRoutine'"):
        export_rva(str(dist / "hsprobe.sys"), "NoSuchRoutine")
