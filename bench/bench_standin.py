"""Benchmark the Linux stand-in guest, all figures from one run on one machine: cold boot to
the ready marker; revert to the `ready` snapshot (drivers loaded) plus the first hsprobectl
answer, split into revert, SSH connect and the answer; one hsprobectl round trip on an open
connection; loading hsproxy.ko and hsprobe.ko; a swap to hsprobe2 and back, over SSH and as
the driver's telemetry times it inside the kernel.

And what was tried against the largest parts, each measured beside what the guest does:
sshd's per-connection re-exec (the guest's sshd runs with -r, without it; a second sshd
without -r on another port shows what that saves), and modules without their debug
information (strip --strip-debug).

Needs libvirtd running (scripts/setup-host --services) and the drivers built.

    .venv/bin/python bench/bench_standin.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.contract import trace
from harness.driver.telemetry import decode_telemetry
from harness.guest import kmod
from harness.guest.ssh import SshTransport
from harness.vm.accel import choose_accel
from harness.vm.config import parse_pool_config
from harness.vm.libvirt import LibvirtMachine, LibvirtPool

REPO = Path(__file__).resolve().parents[1]
Figures = dict[str, list[float]]


def build() -> Path:
    """The drivers and the image (both cached), libvirtd running."""
    subprocess.run(
        [str(REPO / "scripts/setup-host"), "--services"],
        check=True,
        env={**os.environ, "VENV": sys.prefix},
    )
    subprocess.run(
        ["make", "-s", "-C", str(REPO / "drivers"), "linux"], check=True, capture_output=True
    )
    out = subprocess.run(
        [str(REPO / "vm/standin/build")], check=True, capture_output=True, text=True
    ).stdout
    return Path(out.strip().splitlines()[-1])


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


class Link:
    """SSH to the guest's port `guest_port` through a loopback forward, host key pinned."""

    def __init__(self, machine: LibvirtMachine, image: Path, work: Path, guest_port: int = 22):
        self.host, self.port = machine.forward(guest_port)
        self.image = image
        key = (image / "host_key.pub").read_text().split()[:2]
        self.known = work / f"known_hosts-{guest_port}"
        self.known.write_text(f"[{self.host}]:{self.port} {' '.join(key)}\n")

    def connect(self) -> SshTransport:
        return SshTransport(
            self.host,
            port=self.port,
            user="root",
            key_file=self.image / "client_key",
            known_hosts=self.known,
        ).connect()


def boots(machine: LibvirtMachine, rounds: int) -> list[float]:
    figures = []
    for _ in range(rounds):
        machine.destroy()
        figures.append(machine.boot())
    return figures


def loads(ssh: SshTransport, modules: str, rounds: int, figures: Figures, tag: str = "") -> None:
    for _ in range(rounds):
        for name in ("hsproxy", "hsprobe"):
            figures.setdefault(f"insmod {name}{tag}", []).append(
                timed(lambda n=name: kmod.insmod(ssh, f"{modules}/{n}.ko"))
            )  # type: ignore[misc]
        kmod.rmmod(ssh, "hsprobe")
        kmod.rmmod(ssh, "hsproxy")


def swaps(ssh: SshTransport, rounds: int, figures: Figures) -> None:
    """Swap to 2 (loads hsprobe2.ko) and back (one IOCTL); the kernel's own span from the
    swap's request to its done record, on the interrupt-time clock."""
    for _ in range(rounds):
        figures.setdefault("swap to 2 (loads hsprobe2)", []).append(
            timed(lambda: ssh.run(["hsprobectl", "swap", "--to", "2"]))
        )
        figures.setdefault("swap back to 1", []).append(
            timed(lambda: ssh.run(["hsprobectl", "swap", "--to", "1"]))
        )
        ssh.run(["rmmod", "hsprobe2"])
    raw = ssh.run(["hsprobectl", "trace", "--raw", "/dev/stdout"]).stdout
    spans: dict[int, list[int]] = {}
    for rec in decode_telemetry(raw).records:
        if isinstance(rec, trace.Swap) and rec.phase in ("request", "done") and rec.it:
            spans.setdefault(rec.swap, []).append(rec.it)
    figures["swap inside the kernel"] = [
        (s[-1] - s[0]) / 1e7 for s in spans.values() if len(s) == 2
    ]


def reverts(machine: LibvirtMachine, link: Link, rounds: int, figures: Figures) -> None:
    for _ in range(rounds):
        began = time.perf_counter()
        machine.revert("ready")
        reverted = time.perf_counter()
        ssh = link.connect()
        connected = time.perf_counter()
        answer = json.loads(ssh.run(["hsprobectl", "query"]).stdout)
        done = time.perf_counter()
        ssh.close()
        assert answer["image_version"] == 1, answer
        figures.setdefault("revert (loadvm)", []).append(reverted - began)
        figures.setdefault("  SSH connect after it", []).append(connected - reverted)
        figures.setdefault("  first hsprobectl answer", []).append(done - connected)
        figures.setdefault("revert + first answer", []).append(done - began)


def stripped(ssh: SshTransport, modules: str, work: Path, rounds: int, figures: Figures) -> None:
    """The same modules without debug information, copied to the guest's /tmp."""
    for name in ("hsproxy", "hsprobe"):
        local = work / f"{name}.ko"
        subprocess.run(
            [
                "strip",
                "--strip-debug",
                "-o",
                str(local),
                str(REPO / "drivers/dist/linux" / f"{name}.ko"),
            ],
            check=True,
        )
        ssh.put(local, f"/tmp/{name}.ko")
    loads(ssh, "/tmp", rounds, figures, " (stripped)")


def reexec(
    machine: LibvirtMachine,
    ssh: SshTransport,
    image: Path,
    work: Path,
    rounds: int,
    figures: Figures,
) -> None:
    """Connects to a second sshd on port 2222 that re-executes itself for each connection
    (sshd's default; the guest's own runs with -r)."""
    ssh.run(
        [
            "sh",
            "-c",
            "/usr/sbin/sshd -p 2222 -o PidFile=/run/sshd-2.pid && "
            "until netstat -ltn | grep -q ':2222 '; do sleep 0.05; done",
        ],
        timeout=30,
    )
    link = Link(machine, image, work, 2222)
    for _ in range(rounds):
        figures.setdefault("SSH connect, sshd re-exec", []).append(
            timed(lambda: link.connect().close())
        )


def measure(machine: LibvirtMachine, image: Path, work: Path, rounds: int) -> Figures:
    figures: Figures = {"cold boot to ready": boots(machine, rounds)}
    machine.snapshot("booted")
    link = Link(machine, image, work)
    figures["SSH connect"] = [timed(lambda: link.connect().close()) for _ in range(rounds)]
    ssh = link.connect()
    modules = json.loads((image / "guest.json").read_text())["modules_dir"]
    loads(ssh, modules, rounds, figures)
    stripped(ssh, modules, work, rounds, figures)
    reexec(machine, ssh, image, work, rounds, figures)
    for name in ("hsproxy", "hsprobe"):
        kmod.insmod(ssh, f"{modules}/{name}.ko")
    figures["hsprobectl round trip"] = [
        timed(lambda: ssh.run(["hsprobectl", "query"])) for _ in range(rounds * 4)
    ]
    swaps(ssh, rounds, figures)
    ssh.close()
    machine.snapshot("ready")
    reverts(machine, link, rounds, figures)
    return figures


def report(figures: Figures, config: Any, rounds: int) -> None:
    med = {name: statistics.median(values) for name, values in figures.items()}
    print(
        f"stand-in guest, {config.memory_mib} MiB, accel {choose_accel(config.accel)}, "
        f"median of {rounds} (round trips: {rounds * 4})"
    )
    for name, value in med.items():
        print(f"  {name:<32} {value * 1000:9.1f} ms")
    boot, first = med["cold boot to ready"], med["revert + first answer"]
    parts = {
        "revert (loadvm)": med["revert (loadvm)"],
        "SSH connect": med["  SSH connect after it"],
        "hsprobectl answer": med["  first hsprobectl answer"],
    }
    largest = max(parts, key=lambda k: parts[k])
    print(f"  cold boot / (revert + first answer) {boot / first:6.1f}x")
    print(f"  revert + first answer is dominated by the {largest} ({parts[largest] / first:.0%})")
    print(
        f"  tried: sshd -r (the guest's) connects in {med['SSH connect'] * 1000:.0f} ms, "
        f"with re-exec {med['SSH connect, sshd re-exec'] * 1000:.0f} ms; stripped hsproxy.ko "
        "loads in "
        f"{med['insmod hsproxy (stripped)'] * 1000:.0f} ms, as built "
        f"{med['insmod hsproxy'] * 1000:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    image = build()
    config = parse_pool_config(
        {
            "image": str(image),
            "name": "bench-standin",
            "profile": "linux-standin",
            "boot_timeout": 600.0,
        },
        "bench",
    )
    with tempfile.TemporaryDirectory(prefix="bench-standin-") as work, LibvirtPool(config) as pool:
        figures = measure(pool.lease(), image, Path(work), args.rounds)
    report(figures, config, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
