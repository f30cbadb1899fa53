"""Windows kernel dumps: every type kdmp-parser reads, built from the documented layout, read
back by our header codec and by kdmp-parser, with the expected fields; and every bad dump
gives one Unanalysable reason."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import kdmp_parser
import pytest

from harness.triage.analysis import analyse_file, analyse_path
from harness.triage.dumpheader import HEADER_SIZE, SUPPORTED, DumpType, pack, unpack
from harness.triage.model import Unanalysable
from harness.triage.windump import peek, read_dump
from tests.unit.triage.corpus import EXPECTED, RIP, RSP, dump_bytes, header, memory


@pytest.mark.parametrize("dump_type", [int(t) for t in SUPPORTED])
def test_kdmp_parser_reads_what_the_header_codec_reads(
    corpus: dict[int, Path], dump_type: int
) -> None:
    path = corpus[dump_type]
    ours, truncated = peek(path)
    theirs = kdmp_parser.KernelDumpParser(path)
    assert truncated is None
    assert int(theirs.type) == ours.dump_type == dump_type
    assert theirs.header.BugCheckCode == ours.bugcheck == EXPECTED["bugcheck"]
    assert tuple(theirs.header.BugCheckCodeParameter) == ours.params == EXPECTED["params"]
    assert theirs.context.Rip == ours.registers["rip"] == RIP
    assert theirs.context.Rsp == RSP
    assert theirs.directory_table_base == ours.directory_table_base == memory().dtb
    assert len(theirs.pages) == len(memory().pages)


@pytest.mark.parametrize("dump_type", [int(t) for t in SUPPORTED])
def test_every_dump_type_gives_the_expected_crash(corpus: dict[int, Path], dump_type: int) -> None:
    crash = read_dump(corpus[dump_type])
    assert crash.title == EXPECTED["title"]
    assert crash.top() == EXPECTED["frames"]
    assert [f.how for f in crash.frames] == ["context", "scanned", "scanned"]
    assert crash.bugcheck == 0xD1 and crash.params == EXPECTED["params"]
    assert crash.details["dump_type"] == DumpType(dump_type).name.lower()
    assert crash.details["modules"] == "2"
    # no symbols without a debugger host: flagged, bucketed by module
    assert crash.corrupted is not None and "no symbols for hsprobe" in crash.corrupted


def test_corpus_bytes_are_stable() -> None:
    """Golden digests: a change to the writer or the codec layout shows here first."""
    digests = {int(t): hashlib.sha256(dump_bytes(int(t))).hexdigest()[:16] for t in SUPPORTED}
    assert digests == {
        1: "81776c5210010f5a",
        5: "0c6366f137bc5547",
        6: "4b70f6675287aa98",
        8: "2faec5e2acb8b381",
        9: "5b8cb370aa4aee77",
        10: "87a2acf0907ed26f",
    }
    assert pack(unpack(dump_bytes(1)[:HEADER_SIZE])) == dump_bytes(1)[:HEADER_SIZE]


def test_a_dump_of_two_crashes_in_one_driver_is_one_bucket(tmp_path: Path) -> None:
    a, b = tmp_path / "a.dmp", tmp_path / "b.dmp"
    a.write_bytes(dump_bytes(1))
    b.write_bytes(dump_bytes(5, params=(1, 2, 1, RIP + 8), registers={"rip": RIP + 8, "rsp": RSP}))
    c = tmp_path / "c.dmp"
    c.write_bytes(dump_bytes(1, bugcheck=0x50))
    first, second, other = (read_dump(p) for p in (a, b, c))
    assert first.bucket == second.bucket
    assert other.bucket != first.bucket and other.title.startswith("0x50 PAGE_FAULT")


def _bad(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "bad.dmp"
    path.write_bytes(data)
    with pytest.raises(Unanalysable) as info:
        analyse_file(path)
    assert path.read_bytes() == data  # the raw file is kept as it was
    return str(info.value)


def test_bad_dumps_are_one_clear_reason_each(tmp_path: Path) -> None:
    good = dump_bytes(1)
    arm = bytearray(good)
    struct.pack_into("<I", arm, 0x30, 0xAA64)
    mini = bytearray(good)
    struct.pack_into("<I", mini, 0xF98, 4)
    legacy = bytearray(good)
    legacy[4:8] = b"DUMP"
    assert "another architecture (ARM64)" in _bad(tmp_path, bytes(arm))
    assert "dump type mini is not supported" in _bad(tmp_path, bytes(mini))
    assert "32-bit" in _bad(tmp_path, bytes(legacy))
    assert "truncated dump" in _bad(tmp_path, good[:0x1000])
    assert "not a Windows crash dump" in _bad(tmp_path, b"PAGEJUNK" + bytes(0x3000))
    assert "kdmp-parser refused" in _bad(
        tmp_path, bytes(pack(header(context_valid=False))) + good[HEADER_SIZE:]
    )


def test_a_dump_cut_short_still_names_its_bug_check_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "cut.dmp"
    path.write_bytes(dump_bytes(1)[: HEADER_SIZE + 0x3000])
    crash = read_dump(path)
    assert crash.bugcheck == 0xD1
    assert crash.corrupted is not None and crash.corrupted.startswith("truncated dump")
    [finding] = analyse_path(path)
    assert finding.verdict.startswith("crash (corrupted: truncated dump")


def test_a_file_that_is_no_dump(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(bytes(range(256)) * 64)
    [finding] = analyse_path(path)
    assert finding.verdict == (
        "unanalysable: binary data that is neither a Windows dump nor an ELF core"
    )


def test_a_bitmap_that_points_past_the_file_is_one_reason_not_a_dead_harness(
    tmp_path: Path,
) -> None:
    # the bitmap's bit count (at 0x2030) made huge: kdmp-parser reads past its mapping and
    # dies of SIGBUS; the harness process must survive and say why
    data = bytearray(dump_bytes(DumpType.BITMAP))
    data[0x2037] = 0x08
    path = tmp_path / "memory.dmp"
    path.write_bytes(bytes(data))
    [finding] = analyse_path(path)
    assert finding.crash is None
    assert finding.unanalysable is not None and "died on the dump" in finding.unanalysable


def test_a_full_dump_with_more_runs_than_its_header_holds_is_refused(tmp_path: Path) -> None:
    data = bytearray(dump_bytes(DumpType.FULL))
    struct.pack_into("<I", data, 0x88, 1000)
    with pytest.raises(Unanalysable, match="1000 physical memory runs"):
        unpack(bytes(data[:HEADER_SIZE]))


def test_a_run_promising_exabytes_is_read_from_the_header_only(tmp_path: Path) -> None:
    # a damaged run length would have kdmp-parser index 2**60 pages: the header alone speaks
    data = bytearray(dump_bytes(DumpType.FULL))
    struct.pack_into("<QQ", data, 0x98 + 16, 1 << 40, 1 << 60)
    struct.pack_into("<I", data, 0x88, 2)
    path = tmp_path / "memory.dmp"
    path.write_bytes(bytes(data))
    crash = read_dump(path)
    assert crash.bugcheck == header().bugcheck
    assert crash.corrupted is not None and crash.corrupted.startswith("truncated dump")
