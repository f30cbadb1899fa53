"""`harness vm gc` racing a new run for a dead run's slot, with the real commands: gc must
never remove the new run's domain or files (it did in 3 of 8 tries before it took the
slot's lease), and must keep going past a domain it cannot remove."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from harness.vm.config import PoolConfig
from harness.vm.metadata import Owner
from tests.integration.vm.conftest import REPO, MakeConfig, domain_names, harness_cli
from tests.integration.vm.test_lifecycle import HOLDER, finish, start_holder

pytestmark = pytest.mark.integration

TRIES = 8
ORPHANS = 3


# a run that has started its guest: gc then spends a while destroying each QEMU
STARTER = HOLDER.replace("print(machine.name", "machine.start(); print(machine.name")


def _orphans(config: PoolConfig, count: int) -> list[str]:
    """Dead runs' running machines: holders lease `count` slots and start their guests,
    then die by SIGKILL."""
    holders = [start_holder(config, code=STARTER) for _ in range(count)]
    names = []
    for holder in holders:
        assert holder.stdout is not None
        names.append(holder.stdout.readline().strip())
        assert names[-1], holder.stderr.read() if holder.stderr else ""
    for holder in holders:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    return sorted(names)


def _owner(name: str) -> Owner | None:
    xml = subprocess.run(
        ["virsh", "-c", "qemu:///system", "dumpxml", name],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return Owner.from_domain_xml(xml)


def _gc(config: PoolConfig) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "vm", "gc", "--pool", config.name],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_gc_racing_a_new_run_for_a_slot_never_removes_the_new_runs_machine(
    make_config: MakeConfig,
) -> None:
    # several orphans, so that gc spends a while between listing them and removing the last
    config = make_config("g", accel="tcg", size=ORPHANS)
    for attempt in range(TRIES):
        _orphans(config, ORPHANS)
        # both at once, one or the other first by up to 0.6 s, so that gc meets the new
        # run at each step of taking a slot over (lease, removing the stale domain,
        # defining anew)
        lead = 0.2 * attempt - 0.6
        new_run = start_holder(config) if lead < 0 else None
        time.sleep(abs(lead))
        gc = _gc(config)
        new_run = new_run or start_holder(config)
        out, err = gc.communicate(timeout=300)
        assert new_run.stdout is not None
        name = new_run.stdout.readline().strip()
        try:
            assert gc.returncode == 0, err
            # whoever came first, the new run's machine is whole under its live owner
            assert domain_names(name) == [name], (attempt, out)
            owner = _owner(name)
            assert owner is not None and owner.pid == new_run.pid
            machine_dir = config.state / "machines" / name
            assert (machine_dir / "disk.qcow2").is_file(), (attempt, out)
            assert (machine_dir / "console.log").is_file(), (attempt, out)
        finally:
            assert finish(new_run)[0] == 0
        assert harness_cli("vm", "gc", "--pool", config.name).returncode == 0
        assert domain_names(f"hs-{config.name}-") == []
    assert not list((config.state / "leases").glob(f"{config.name}-*.lock"))


def test_gc_keeps_going_past_a_domain_it_cannot_remove(make_config: MakeConfig) -> None:
    """Two orphans; the first one's slot cannot be leased (its lock path is a directory):
    gc reports that one, removes the other, and exits 3."""
    config = make_config("f", accel="tcg", size=2)
    names = _orphans(config, 2)
    blocked = config.state / "leases" / f"{names[0].removeprefix('hs-')}.lock"
    blocked.unlink(missing_ok=True)
    blocked.mkdir()
    try:
        done = harness_cli("vm", "gc", "--pool", config.name)
        assert done.returncode == 3, done.stderr
        assert f"could not remove {names[0]}" in done.stderr
        assert f"removed {names[1]}" in done.stdout
        assert domain_names(f"hs-{config.name}-") == [names[0]]
        assert "Traceback" not in done.stderr
    finally:
        blocked.rmdir()
        assert harness_cli("vm", "gc", "--pool", config.name).returncode == 0
    assert domain_names(f"hs-{config.name}-") == []
    assert not (config.state / "machines" / names[0]).exists()
