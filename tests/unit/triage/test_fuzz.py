"""Every parser under hypothesis: arbitrary and mutated input gives a Crash or one
Unanalysable reason, never another exception; the raw file is never changed."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.triage.analysis import analyse_path
from harness.triage.analyze import parse_analyze
from harness.triage.dumpheader import HEADER_SIZE, unpack
from harness.triage.model import Crash, Unanalysable
from harness.triage.oops import parse_console
from tests.unit.triage.corpus import dump_bytes
from tests.unit.triage.test_golden import GOLDEN

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DUMPS = [dump_bytes(t) for t in (1, 5, 8, 0xA)]
ELF_HEAD = (GOLDEN / "linux" / "null.elf-head").read_bytes()
TEXTS = [p.read_text() for p in sorted(GOLDEN.glob("*/*")) if p.suffix in (".console", ".txt")]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 12))):
        at = draw(st.integers(0, len(data) - 1))
        # most mutations in the header and the type's own header, where the parsers look
        if draw(st.booleans()):
            at %= HEADER_SIZE + 0x100
        data[at] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    return bytes(data[:cut] if cut is not None else data)


def _one_verdict(data: bytes, name: str = "input") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        [finding] = analyse_path(path)
        assert (finding.crash is None) != (finding.unanalysable is None)
        if finding.unanalysable is not None:
            assert finding.unanalysable and "\n" not in finding.unanalysable
        assert path.read_bytes() == data


@FUZZ
@given(st.binary(max_size=HEADER_SIZE + 64))
def test_header_codec_on_any_bytes(data: bytes) -> None:
    try:
        unpack(data)
    except Unanalysable as e:
        assert str(e)


@FUZZ
@given(mutated(DUMPS))
def test_windows_dump_mutations(data: bytes) -> None:
    _one_verdict(data, "memory.dmp")


@FUZZ
@given(mutated([ELF_HEAD]))
def test_elf_core_mutations(data: bytes) -> None:
    _one_verdict(data, "memory.elf")


@FUZZ
@given(
    st.one_of(
        st.text(max_size=2000),
        st.sampled_from(TEXTS).flatmap(
            lambda t: st.tuples(
                st.integers(0, len(t)), st.integers(0, len(t)), st.text(max_size=40)
            ).map(lambda c, t=t: t[: min(c[:2])] + c[2] + t[max(c[:2]) :])
        ),
    )
)
def test_text_parsers(text: str) -> None:
    for parse in (parse_console, parse_analyze):
        try:
            assert isinstance(parse(text), Crash)
        except Unanalysable as e:
            assert str(e)
    _one_verdict(text.encode("utf-8", "surrogatepass"), "console.log")
