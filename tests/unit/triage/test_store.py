"""The crash store, retention and the DriverProxy context, on crash directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.contract.startctx import StartContext
from harness.contract.trace import Create, Enter, Exit, Swap, SwapPhase
from harness.errors import InputError
from harness.triage.analysis import analyse_file, analyse_path
from harness.triage.context import context_of
from harness.triage.crashdir import Bugcheck
from harness.triage.retention import Policy, apply
from harness.triage.store import Occurrence, open_store
from tests.unit.triage.crashdirs import make


def _occurrence(path: Path) -> Occurrence:
    [finding] = analyse_path(path)
    assert finding.crash is not None and finding.info is not None
    return Occurrence(
        source=finding.source,
        crash=finding.crash,
        time=finding.info.time,
        scenario=finding.info.scenario,
        driver_build=finding.info.driver_build,
        dump=finding.dump,
    )


def test_buckets_count_first_and_last_seen_scenarios_builds(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crashes.sqlite")
    a = make(tmp_path, "swap_busy-r0", console="null", time="2026-12-01T01:00:00+00:00")
    b = make(
        tmp_path,
        "swap_idle-r3",
        console="null-again",
        time="2026-12-02T01:00:00+00:00",
        driver={"hsprobe.sys": "cd" * 32},
    )
    c = make(tmp_path, "phases-r0", console="bug", time="2026-12-01T05:00:00+00:00")
    assert [store.add(_occurrence(p)) for p in (a, b, c)] == [True, False, True]
    assert store.add(_occurrence(a)) is False  # the same crash twice counts once
    null, bug = store.buckets()[0], store.buckets()[1]
    assert null.title.startswith("BUG: kernel NULL pointer dereference") and null.count == 2
    assert (null.first_seen, null.last_seen) == (
        "2026-12-01T01:00:00+00:00",
        "2026-12-02T01:00:00+00:00",
    )
    assert null.scenarios == ("swap_busy", "swap_idle")
    assert null.driver_builds == ("hsprobe.sys@abababababab", "hsprobe.sys@cdcdcdcdcdcd")
    assert bug.count == 1 and bug.title == "kernel BUG in hscrash!hscrash_swap_phase"
    assert store.bucket(null.id[:4]) == null
    assert [o.scenario for o in store.occurrences(null.id)] == ["swap_busy", "swap_idle"]
    store.close()
    reopened = open_store(tmp_path / "crashes.sqlite")
    assert [b.count for b in reopened.buckets()] == [2, 1]


def test_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_text("hello")
    with pytest.raises(InputError, match="not a crash store"):
        open_store(bad)


def test_retention_keeps_first_n_and_newest_compressed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite")
    dirs = [
        make(tmp_path, f"swap-r{i}", dump_type=1, time=f"2026-12-0{i + 1}T00:00:00+00:00")
        for i in range(5)
    ]
    for d in dirs:
        store.add(_occurrence(d))
    done = apply(store, Policy(keep_first=2))
    assert (done.compressed, done.removed) == (3, 2)
    kept = [sorted(p.name for p in d.iterdir() if p.name.startswith("memory")) for d in dirs]
    assert kept == [["memory.dmp.zst"]] * 2 + [[]] * 2 + [["memory.dmp.zst"]]
    assert all((d / "crash.json").exists() for d in dirs)
    [bucket] = store.buckets()
    assert len(bucket.dumps) == 3 and all(d.endswith(".zst") for d in bucket.dumps)
    # a retained dump is still analysable
    assert analyse_file(dirs[0] / "memory.dmp.zst").title.startswith("0xD1")


def test_retention_never_removes_a_buckets_only_dump(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite")
    only = make(tmp_path, "swap-r0", dump_type=5)
    store.add(_occurrence(only))
    apply(store, Policy(keep_first=0, keep_newest=False))
    assert (only / "memory.dmp.zst").exists()


def test_a_crash_without_a_readable_dump_is_still_bucketed(tmp_path: Path) -> None:
    d = make(tmp_path, "swap-r0", bugcheck=Bugcheck(0x139, [3, 0, 0, 0]), detected_by="hyperv")
    (d / "memory.dmp").write_bytes(b"PAGEDU64" + bytes(100))
    [finding] = analyse_path(d)
    assert finding.crash is not None
    assert finding.crash.title == "0x139 KERNEL_SECURITY_CHECK_FAILURE"
    assert finding.crash.corrupted == (
        "bug check from the hypervisor only: truncated dump: 108 bytes, the header alone is 0x2000"
    )
    assert (d / "memory.dmp").read_bytes().startswith(b"PAGEDU64")
    unresponsive = make(tmp_path, "idle-r1", detected_by="unresponsive")
    [finding] = analyse_path(unresponsive)
    assert finding.crash is not None
    assert finding.crash.title == "guest stopped answering (no report)"


def test_driverproxy_context_at_the_crash() -> None:
    ctx = StartContext()
    records = [
        Create(seq=1, t=1, status=0, context=ctx, worker=1, thread=10, thread_object=1),
        Create(seq=2, t=2, status=0, context=ctx, worker=2, thread=11, thread_object=2),
        Enter(seq=3, t=3, worker=1, thread=10, thread_object=1, irql=0, wait_status=0, version=1),
        Exit(seq=4, t=4, worker=1, thread=10, irql=0, returned=True, version=1),
        Enter(seq=5, t=5, worker=2, thread=11, thread_object=2, irql=0, wait_status=0, version=1),
        Swap(seq=6, t=6, swap=1, phase=SwapPhase.REQUEST, from_version=1, to_version=2),
        Swap(seq=7, t=7, swap=1, phase=SwapPhase.STALL, from_version=1, to_version=2),
    ]
    got = context_of(records)
    assert (got.swap, got.version, got.in_flight, got.workers) == (
        "swap 1 v1->v2 at stall",
        1,
        (2,),
        2,
    )
    assert got.summary() == "swap 1 v1->v2 at stall; image v1; 1 of 2 workers in the routine (2)"
    done = context_of(
        [
            *records,
            Swap(seq=8, t=8, swap=1, phase=SwapPhase.SWITCH, from_version=1, to_version=2),
            Swap(seq=9, t=9, swap=1, phase=SwapPhase.DONE, from_version=1, to_version=2, status=0),
        ]
    )
    assert (done.swap, done.version) == (None, 2)
