"""One telemetry layout: the C header, hsprobectl's converter and the Python decoder agree."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.contract.jsonl import read_trace
from harness.contract.startctx import EventKind, Routine
from harness.contract.trace import Create, Enter, Mark, Probe, Swap, SwapPhase
from harness.driver.telemetry import LAYOUT_VERSION, RECORD_SIZE, decode_telemetry
from harness.errors import InputError

from .conftest import DRIVERS, GOLDEN

GOLDEN_FILE = GOLDEN / "telemetry-v2.hspt"


def _write(host_tools: Path, tmp_path: Path) -> tuple[bytes, Path]:
    raw, trace = tmp_path / "t.hspt", tmp_path / "t.jsonl"
    subprocess.run([str(host_tools / "telemetry-writer"), str(raw), str(trace)], check=True)
    return raw.read_bytes(), trace


def _trace_records(path: Path) -> tuple[object, list[object]]:
    with path.open("rb") as f:
        header, records = read_trace(f, path=str(path))
        return header, list(records)


def test_host_program_writes_the_golden_bytes(host_tools: Path, tmp_path: Path) -> None:
    data, trace = _write(host_tools, tmp_path)
    assert data == GOLDEN_FILE.read_bytes(), (
        "the record layout changed: bump HSP_LAYOUT_VERSION and regenerate the golden file"
    )
    # and hsprobectl's converter still prints the same lines for them
    assert trace.read_bytes() == GOLDEN_FILE.with_suffix(".jsonl").read_bytes()


def test_python_decoder_reads_what_the_c_converter_prints(host_tools: Path, tmp_path: Path) -> None:
    data, trace = _write(host_tools, tmp_path)
    header, records = _trace_records(trace)
    decoded = decode_telemetry(data)
    assert header.source == "hsprobe" and header.scenario == "golden"  # type: ignore[attr-defined]
    assert list(decoded.records) == records
    assert len(records) == 13


def test_golden_bytes_decode_to_the_records_written() -> None:
    t = decode_telemetry(GOLDEN_FILE.read_bytes())
    assert (t.dropped, t.source_version) == (5, 1)
    by_seq = {r.seq: r for r in t.records}
    assert by_seq[1] == Probe(
        seq=1,
        t=133000000000000010,
        it=50000007,
        enabled=True,
        extension_status=0,
        flags=1,
        exports=True,
    )
    made = by_seq[2]
    assert isinstance(made, Create)
    assert made.context.events == (EventKind.SYNC, EventKind.NOTIFICATION, EventKind.SYNC)
    assert (made.context.timeout, made.context.wait_mode, made.context.alertable) == (
        -10000,
        1,
        True,
    )
    assert (made.worker, made.thread, made.thread_object) == (1, 0x1235, 0xFFFFA00112345080)
    assert not made.fallback
    refused = by_seq[3]
    assert isinstance(refused, Create) and refused.worker is None and refused.fallback
    assert refused.context.event_count == 65 and refused.context.routine is Routine.NULL
    assert refused.context.events[64] is EventKind.NOTIFICATION
    entered = by_seq[6]
    assert isinstance(entered, Enter)
    assert (entered.version, entered.endpoint, entered.wait_status) == (2, 2, 1)
    assert entered.it == 50000000 + 6 * 7  # interrupt time beside system time
    done = by_seq[9]
    assert isinstance(done, Swap) and done.phase is SwapPhase.DONE
    assert (done.endpoints, done.status) == ((1, 2), 0xC0000001)
    assert by_seq[12] == Mark(
        seq=12, t=by_seq[12].t, it=by_seq[12].it, label='gate "closed"\\\x01\xe9'
    )
    assert by_seq[13] == Mark(
        seq=13, t=by_seq[13].t, it=by_seq[13].it, label="unknown telemetry kind 77"
    )


def test_python_constants_match_the_c_header() -> None:
    header = (DRIVERS / "include" / "hsp_telemetry.h").read_text()
    defines = dict(re.findall(r"#define (HSP_\w+) (\d+)", header))
    assert int(defines["HSP_LAYOUT_VERSION"]) == LAYOUT_VERSION
    assert int(defines["HSP_RECORD_SIZE"]) == RECORD_SIZE


def _file(records: list[bytes], *, count: int | None = None, layout: int = 2) -> bytes:
    n = len(records) if count is None else count
    return struct.pack("<4sHHIIQQ", b"HSPT", layout, RECORD_SIZE, n, 0, 0, 0) + b"".join(records)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an hsprobe telemetry file"),
        (b"MZ" + bytes(100), "not an hsprobe telemetry file"),
        (_file([], layout=1), "telemetry layout 1"),
        (_file([bytes(RECORD_SIZE)], count=2), "truncated: the header promises 2 records"),
    ],
)
def test_bad_telemetry_files_are_named(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        decode_telemetry(data, path="x.hspt")
    assert str(err.value).startswith("x.hspt: ")


def _record(kind: int, seq: int, payload: bytes, head_bytes: bytes) -> bytes:
    version, flag, worker, t, it, thread = struct.unpack("<BBIqqQ", head_bytes)
    # a trace's times and thread ids are 0..2**63-1 (docs/trace-format.md): a recorder never
    # writes others, so arbitrary records stay in that range
    t, it, thread = t & (2**63 - 1), it & (2**63 - 1), thread & (2**63 - 1)
    head = struct.pack("<HBBIQqqQ", kind, version, flag, worker, seq, t, it, thread)
    return head + payload


_records = st.lists(
    st.tuples(
        st.integers(0, 12), st.binary(min_size=64, max_size=64), st.binary(min_size=30, max_size=30)
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=_records)
def test_c_and_python_agree_on_arbitrary_records(
    items: list[tuple[int, bytes, bytes]], host_tools: Path, tmp_path: Path
) -> None:
    raw = [_record(kind, seq, payload, head) for seq, (kind, payload, head) in enumerate(items)]
    path, out = tmp_path / "r.hspt", tmp_path / "r.jsonl"
    path.write_bytes(_file(raw))
    subprocess.run(
        [str(host_tools / "telemetry-writer"), "--convert", str(path), str(out)], check=True
    )
    _, records = _trace_records(out)
    assert list(decode_telemetry(path.read_bytes()).records) == records
