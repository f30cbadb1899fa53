"""Leases: one holder per slot, across threads and processes, freed when the holder dies."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.errors import HarnessTimeoutError
from harness.vm.lease import acquire, is_held


def test_concurrent_acquires_get_distinct_slots(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as workers:
        leases = list(workers.map(lambda _: acquire(tmp_path, "p", 8, timeout=5), range(8)))
    assert sorted(lease.slot for lease in leases) == list(range(8))
    for lease in leases:
        lease.release()


def test_a_full_pool_times_out_naming_the_pool(tmp_path: Path) -> None:
    held = acquire(tmp_path, "p", 1, timeout=1)
    with pytest.raises(HarnessTimeoutError, match="pool p: all 1 machine"):
        acquire(tmp_path, "p", 1, timeout=0.3)
    held.release()
    again = acquire(tmp_path, "p", 1, timeout=0.3)
    assert again.slot == 0 and again.held
    again.release()
    assert not again.held


def test_is_held_sees_holders_and_release_is_idempotent(tmp_path: Path) -> None:
    assert not is_held(tmp_path, "p", 0)
    lease = acquire(tmp_path, "p", 1, timeout=1)
    assert is_held(tmp_path, "p", 0)
    lease.release()
    lease.release()
    assert not is_held(tmp_path, "p", 0)


def test_a_killed_holder_frees_its_slot(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from harness.vm.lease import acquire
        acquire(Path({str(tmp_path)!r}), "p", 1, timeout=5)
        print("held", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        assert is_held(tmp_path, "p", 0)
        with pytest.raises(HarnessTimeoutError):
            acquire(tmp_path, "p", 1, timeout=0.3)
    finally:
        child.kill()  # SIGKILL: no cleanup code runs in the child
        child.wait()
    lease = acquire(tmp_path, "p", 1, timeout=2)
    assert lease.slot == 0
    lease.release()


def test_lock_files_do_not_pile_up(tmp_path: Path) -> None:
    for _ in range(3):
        leases = [acquire(tmp_path, "p", 4, timeout=1) for _ in range(4)]
        assert sorted(p.name for p in tmp_path.iterdir()) == [f"p-{i}.lock" for i in range(4)]
        for lease in leases:
            lease.release()
        assert list(tmp_path.iterdir()) == []
    assert not is_held(tmp_path, "p", 0) and list(tmp_path.iterdir()) == []


def test_a_stale_lock_file_of_a_dead_holder_is_reused_then_removed(tmp_path: Path) -> None:
    (tmp_path / "p-0.lock").write_text("12345\n")  # what a SIGKILLed holder leaves
    lease = acquire(tmp_path, "p", 1, timeout=1)
    assert (tmp_path / "p-0.lock").read_text() == f"{os.getpid()}\n"
    lease.release()
    assert list(tmp_path.iterdir()) == []


STRESS = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from harness.vm.lease import acquire
    where, until = Path(sys.argv[1]), time.monotonic() + float(sys.argv[2])
    rounds = clashes = 0
    while time.monotonic() < until:
        lease = acquire(where / "locks", "p", 1, timeout=30)
        try:  # only the holder may own the marker: O_EXCL fails if another holds it too
            fd = os.open(where / "holder", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            clashes += 1
        else:
            os.close(fd)
            os.unlink(where / "holder")
        lease.release()
        rounds += 1
    print(rounds, clashes)
""")


def test_removing_lock_files_never_lets_two_processes_hold_one_slot(tmp_path: Path) -> None:
    """The classic race of unlinking flock files: A unlinks and releases while B has the
    old file open and locks it, and C creates and locks a new one. Each holder re-checks
    that its path still names the inode it locked."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STRESS, str(tmp_path), "2"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [tuple(map(int, p.communicate(timeout=60)[0].split())) for p in procs]
    assert sum(rounds for rounds, _ in results) > 100  # the race was really run
    assert [clashes for _, clashes in results] == [0, 0, 0]
    assert list((tmp_path / "locks").iterdir()) == []
