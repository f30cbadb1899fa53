"""Benchmark the VM pool: cold boot of the test guest to its ready marker against
revert-to-running, through both snapshot paths, measured in one run on one machine.

Prints medians, the ratios cold boot / revert, and the resident memory of the QEMU process
per guest. The fast path (hmp) must be at least 10x faster than a cold boot: exits 1 if not.
Needs libvirtd running (scripts/setup-host --services) and the test guest built.

    .venv/bin/python bench/bench_vm.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness.vm.accel import choose_accel
from harness.vm.config import DEFAULT_STATE_DIR, PoolConfig
from harness.vm.libvirt import LibvirtMachine, LibvirtPool

REPO = Path(__file__).resolve().parents[1]
IMAGE = DEFAULT_STATE_DIR / "images" / "testguest"
TICK = r"^TICK (\d+)$"


def stage_testguest() -> Path:
    """The test guest where QEMU's user can read it (as the integration tests stage it)."""
    subprocess.run(
        [str(REPO / "scripts/setup-host"), "--services"],
        check=True,
        env={**os.environ, "VENV": sys.prefix},
    )
    built = Path(
        subprocess.run(
            [str(REPO / "vm/testguest/build")], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    IMAGE.mkdir(parents=True, exist_ok=True)
    for name in ("vmlinuz", "initrd.img", "disk.qcow2", "cmdline"):
        shutil.copy2(built / name, IMAGE / name)
    return IMAGE


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def cold_boots(machine: LibvirtMachine, rounds: int) -> list[float]:
    figures = []
    for _ in range(rounds):
        machine.destroy()
        figures.append(machine.boot())
    return figures


def reverts(machine: LibvirtMachine, path: str, rounds: int) -> tuple[list[float], list[float]]:
    """(revert call, revert until the guest prints its next tick) for `rounds` reverts."""
    machine.console.mark()
    machine.console.wait_for(TICK, 120)
    machine.snapshot(f"bench-{path}", path=path)
    calls, ticks = [], []
    for _ in range(rounds):
        machine.console.mark()
        machine.console.wait_for(TICK, 120)  # let the guest move on before going back
        began = time.perf_counter()
        machine.revert(f"bench-{path}", path=path)
        calls.append(time.perf_counter() - began)
        machine.console.mark()
        machine.console.wait_for(TICK, 120)
        ticks.append(time.perf_counter() - began)
    return calls, ticks


def rss_mib(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    config = PoolConfig(image=str(stage_testguest()), name="bench", boot_timeout=600)
    with LibvirtPool(config) as pool:
        machine = pool.lease()
        boot = statistics.median(cold_boots(machine, args.rounds))
        rss = rss_mib(machine.qemu_pid())
        figures = {path: reverts(machine, path, args.rounds) for path in ("hmp", "libvirt")}
    print(
        f"test guest, {config.memory_mib} MiB, accel {choose_accel(config.accel)}, "
        f"median of {args.rounds}"
    )
    print(f"  cold boot to marker          {boot * 1000:9.0f} ms")
    ratios = {}
    for path, (calls, ticks) in figures.items():
        call, tick = statistics.median(calls), statistics.median(ticks)
        ratios[path] = boot / call
        print(
            f"  revert via {path:<8} call     {call * 1000:9.1f} ms   cold boot / revert "
            f"{boot / call:6.1f}x   (to next tick {tick * 1000:.0f} ms)"
        )
    print(f"  hmp vs libvirt revert        {ratios['hmp'] / ratios['libvirt']:9.1f}x faster")
    print(f"  memory per guest (QEMU RSS)  {rss:9.1f} MiB")
    ok = ratios["hmp"] >= 10
    print(f"  fast path >= 10x a cold boot: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
