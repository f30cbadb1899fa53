"""Leases: one holder per slot, across threads and processes, freed when the holder dies."""

from __future__ import annotations

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
