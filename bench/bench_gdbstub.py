"""Benchmark: this gdbstub client against `gdb -batch` on the same QEMU guest, one run.

Each side does the whole job a harness step needs, from connect to detach:
  registers: read cr8, gs_base and rip of the stopped CPU
  memory:    read 1 MiB of kernel .rodata (checked identical on both sides)
Prints the median of several repetitions and the ratios (target: >= 2x faster than GDB).

    .venv/bin/python bench/bench_gdbstub.py [--reps N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.debug.gdbstub import GdbstubDebugger
from tests.integration.debug.guest import QemuGuest, guest_dir

MIB = 1 << 20
RODATA = 0xFFFFFFFF82000000  # the test guest kernel's .rodata with nokaslr


def gdb(port: int, *commands: str) -> str:
    argv = [
        "gdb",
        "-nx",
        "-batch",
        "-ex",
        "set pagination off",
        "-ex",
        f"target remote 127.0.0.1:{port}",
    ]
    for command in commands:
        argv += ["-ex", command]
    argv += ["-ex", "detach"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-500:])
    return result.stdout


def median_time(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ours_registers(port: int) -> tuple[int, int, int]:
    with GdbstubDebugger("127.0.0.1", port, timeout=30) as d:
        return d.register("cr8"), d.register("gs_base"), d.register("rip")


def ours_memory(port: int) -> bytes:
    with GdbstubDebugger("127.0.0.1", port, timeout=60) as d:
        return d.read(RODATA, MIB)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with QemuGuest(guest_dir()) as guest, tempfile.TemporaryDirectory() as tmp:
        port = guest.port
        dump = Path(tmp) / "gdb.bin"
        regs = ("p/x $cr8", "p/x $gs_base", "p/x $rip")
        # correctness first: both sides read the same bytes
        gdb(port, f"dump binary memory {dump} {RODATA:#x} {RODATA + MIB:#x}")
        assert dump.read_bytes() == ours_memory(port), "gdb and this client disagree"
        said = [line for line in gdb(port, *regs).splitlines() if line.startswith("$")]
        print("gdb says:", "  ".join(said))
        cr8, gs_base, rip = ours_registers(port)
        print(f"we say:   cr8={cr8:#x} gs_base={gs_base:#x} rip={rip:#x}")

        reg_ours = median_time(lambda: ours_registers(port), args.reps)
        reg_gdb = median_time(lambda: gdb(port, *regs), args.reps)
        mem_ours = median_time(lambda: ours_memory(port), args.reps)
        mem_gdb = median_time(
            lambda: gdb(port, f"dump binary memory {dump} {RODATA:#x} {RODATA + MIB:#x}"),
            args.reps,
        )
        with GdbstubDebugger("127.0.0.1", port, timeout=30) as d:
            started = time.perf_counter()
            for _ in range(200):
                d.register("cr8")
            per_reg = (time.perf_counter() - started) / 200
    print(
        f"registers (connect, cr8+gs_base+rip, detach): ours {reg_ours * 1e3:7.1f} ms  "
        f"gdb {reg_gdb * 1e3:7.1f} ms  ratio {reg_gdb / reg_ours:5.1f}x"
    )
    print(
        f"1 MiB read (connect, read, detach):           ours {mem_ours * 1e3:7.1f} ms  "
        f"gdb {mem_gdb * 1e3:7.1f} ms  ratio {mem_gdb / mem_ours:5.1f}x"
    )
    print(f"steady-state register round trip (ours, connected): {per_reg * 1e6:.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
