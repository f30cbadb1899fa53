"""Benchmark the hardware path on the emulated rack machine (the stand-in behind sushy-tools'
Redfish emulator, harness/hardware/emulated.py) against the VM pool:

1. per-scenario overhead: what the lab target spends before a scenario can act, with the
   reboot reset policy (power cycle through the BMC, ready marker on the network console,
   SSH, driver verified and loaded) against the VM pool's revert (`loadvm`, reconnect);
2. the suite's wall time with N scenarios per boot, N = 1, 5 and all (the driver reloaded
   between the scenarios of one boot), as a ratio against N = 1.

Each scenario is the same small one (a worker created, signalled, its call seen in the trace),
so the figures are the resets' cost, not the scenarios'. Needs libvirtd; builds the drivers
and the stand-in image (cached).

    .venv/bin/python bench/bench_hardware.py [--scenarios 6] [--vm-rounds 6]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import actions as act
from harness.contract.startctx import EventKind, StartContext
from harness.hardware.emulated import EmulatedRack
from harness.lab.session import close_sessions
from harness.targets import open_target
from harness.targets.lab import LabTarget

REPO = Path(__file__).resolve().parents[1]
SECOND = 10_000_000


def run(cmd: list[str]) -> str:
    return subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout


def image() -> Path:
    run([str(REPO / "scripts/setup.d/20-libvirt"), "services"])
    run([str(REPO / "scripts/setup.d/45-linux-headers")])
    run(["make", "-C", "drivers", "linux"])
    return Path(run([str(REPO / "vm/standin/build")]).strip().splitlines()[-1])


def scenario(config: Path) -> float:
    """One small scenario; returns the seconds the target spent getting ready for it."""
    target = open_target(f"lab:{config}")
    assert isinstance(target, LabTarget)
    try:
        seen = len(target.records())
        worker = target.do(act.CreateWorker(context=StartContext(events=(EventKind.SYNC,))))
        assert worker.worker is not None
        target.do(act.Signal(worker.worker, 0))
        assert target.wait_for(lambda records: len(records) > seen + 1, 30 * SECOND)
        return target.timing["revert"]
    finally:
        target.close()


def vm_config(image_dir: Path, tmp: Path) -> Path:
    path = tmp / "vm.toml"
    path.write_text(
        f'profile = "linux"\nconvention = "documented"\n[pool]\nprofile = "linux-standin"\n'
        f'image = "{image_dir}"\nname = "benchhw"\nmemory_mib = 384\n'
        f'[driver]\ndist = "{REPO / "drivers/dist/linux"}"\n'
    )
    return path


def rack_config(rack: EmulatedRack, tmp: Path, every: int) -> Path:
    inventory = tmp / f"inventory-{every}.toml"
    inventory.write_text(
        rack.inventory("redfish").read_text().replace("every = 1", f"every = {every}")
    )
    path = tmp / f"rack-{every}.toml"
    path.write_text(
        f'profile = "linux"\nconvention = "documented"\nhardware = "{inventory}"\n'
        f'guest_image = "{rack.image_dir}"\n[driver]\ndist = "{REPO / "drivers/dist/linux"}"\n'
    )
    return path


def suite(config: Path, count: int) -> tuple[float, list[float]]:
    """Wall time of `count` scenarios on a freshly leased machine (its first boot included),
    and each scenario's reset overhead."""
    began = time.perf_counter()
    overheads = [scenario(config) for _ in range(count)]
    wall = time.perf_counter() - began
    close_sessions()
    return wall, overheads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=6)
    parser.add_argument("--vm-rounds", type=int, default=6)
    args = parser.parse_args()
    image_dir = image()
    with tempfile.TemporaryDirectory(prefix="bench-hw-") as tmp_name:
        tmp = Path(tmp_name)
        print("bench_hardware: the VM pool's revert ...", file=sys.stderr, flush=True)
        _, vm = suite(vm_config(image_dir, tmp), args.vm_rounds + 1)
        revert = statistics.median(vm[1:])  # the first scenario's is the prepared snapshot's
        rack = EmulatedRack(tmp / "rack", name="benchhw", image=str(image_dir))
        rack.up()
        try:
            walls: dict[str, float] = {}
            reboots: list[float] = []
            for label, every in (("1", 1), ("5", 5), ("all", args.scenarios)):
                print(
                    f"bench_hardware: {args.scenarios} scenarios, {label} per boot ...",
                    file=sys.stderr,
                    flush=True,
                )
                walls[label], overheads = suite(rack_config(rack, tmp, every), args.scenarios)
                if every == 1:
                    reboots = overheads[1:]
        finally:
            close_sessions()
            rack.down()
    reboot = statistics.median(reboots)
    print(
        f"per-scenario overhead (median): VM revert {revert:.2f} s; reboot reset "
        f"{reboot:.2f} s ({reboot / revert:.0f}x the revert)"
    )
    print(f"suite of {args.scenarios} scenarios, wall time (first boot included):")
    for label, wall in walls.items():
        print(f"  {label:>3} per boot: {wall:7.1f} s  ({wall / walls['1']:.2f}x N=1)")


if __name__ == "__main__":
    main()
