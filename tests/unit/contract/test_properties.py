"""Properties over generated valid traces: clean, and one injected fault gives one violation."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as hs

from harness.contract import status as st
from harness.contract.check import check
from harness.contract.jsonl import TraceReader, write_trace
from harness.contract.startctx import EventKind, StartContext
from harness.contract.trace import Enter, Exit, Header
from tests.unit.contract.script import MS, Script

CTX = StartContext(
    events=(EventKind.SYNC, EventKind.SYNC, EventKind.NOTIFICATION), timeout=-10 * MS
)

step = hs.one_of(
    hs.tuples(hs.just("cycle"), hs.integers(0, 3), hs.integers(0, 2)),
    hs.tuples(hs.just("timeout"), hs.integers(0, 3), hs.just(0)),
    hs.tuples(hs.just("swap"), hs.just(0), hs.sampled_from(["ok", "rollback"])),
)


@hs.composite
def valid_traces(draw: hs.DrawFn) -> Script:
    """Up to four workers woken in any order, with swaps between wakes."""
    workers = draw(hs.integers(1, 4))
    s = Script()
    s.probe()
    for w in range(workers):
        s.create(w, ctx=CTX)
    version, sid = 1, 0
    for kind, worker, arg in draw(hs.lists(step, max_size=40)):
        w = worker % workers
        if kind == "cycle":
            s.cycle(w, event=arg, version=version, endpoint=1 + w % 2)
        elif kind == "timeout":
            s.wait(w)
            s.enter(w, st.TIMEOUT, dt=10 * MS, version=version, endpoint=1 + w % 2)
            s.exit(w, version=version)
        else:
            sid += 1
            if arg == "ok":
                s.swap(sid, old=version, new=3 - version, endpoints=(1, 2))
                version = 3 - version
            else:
                s.swap(
                    sid,
                    "request pre stall rollback done",
                    old=version,
                    new=3 - version,
                    endpoints=(1, 2),
                    status=st.UNSUCCESSFUL,
                )
    for w in range(workers):
        s.end(w, version=version)
    s.unload(version)
    return s


@settings(max_examples=150, deadline=None)
@given(valid_traces())
def test_generated_valid_trace_has_no_violation(s: Script) -> None:
    assert check(s.records, s.expectations) == []


@settings(max_examples=150, deadline=None)
@given(valid_traces(), hs.data())
def test_one_invocation_at_dispatch_level_gives_one_passive_entry(
    s: Script, data: hs.DataObject
) -> None:
    enters = [i for i, r in enumerate(s.records) if isinstance(r, Enter)]
    i = data.draw(hs.sampled_from(enters))
    j = next(k for k in range(i + 1, len(s.records)) if isinstance(s.records[k], Exit))
    enter, exit_ = s.records[i], s.records[j]
    assert isinstance(enter, Enter) and isinstance(exit_, Exit)
    # raise the IRQL for the whole invocation, so that it is still restored on return
    s.records[i] = Enter(**{**_fields(enter), "irql": 2})
    s.records[j] = Exit(**{**_fields(exit_), "irql": 2})
    violations = check(s.records, s.expectations)
    assert [(v.invariant, v.records) for v in violations] == [("passive-entry", (enter.seq,))]


@settings(max_examples=50, deadline=None)
@given(valid_traces(), hs.integers(1, 300))
def test_reader_gives_the_same_records_whatever_the_chunking(s: Script, chunk: int) -> None:
    buf = io.BytesIO()
    write_trace(buf, Header(format=1, expectations=s.expectations), s.records)
    data = buf.getvalue()
    reader = TraceReader()
    records = []
    for i in range(0, len(data), chunk):
        records.extend(reader.feed(data[i : i + chunk]))
    records.extend(reader.close())
    assert records == s.records


def _fields(rec: Enter | Exit) -> dict[str, object]:
    return {f: getattr(rec, f) for f in rec.__struct_fields__}
