"""Wall time of the whole scenario suite on the simulator and of `harness selftest`.

Targets (issue 2): the suite under 5 s, selftest under 60 s, on this 2-core machine. Both are
run as a user would, as subprocesses of the installed `harness` command, three times each.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HARNESS = [sys.executable, "-m", "harness"]


def _time(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        suite = _time([*HARNESS, "run", "--out", str(Path(out) / "run")], 3)
        repeat = _time([*HARNESS, "run", "--repeat", "10", "--out", str(Path(out) / "r10")], 1)
    selftest = _time([*HARNESS, "selftest"], 3)
    s, t = statistics.median(suite), statistics.median(selftest)
    verdict = "met" if s < 5 else "MISSED"
    print(
        f"suite on sim        median {s:6.2f} s  (target < 5 s: {verdict}; {5 / s:.0f}x headroom)"
    )
    print(f"suite x10 repeats          {repeat[0]:6.2f} s")
    verdict = "met" if t < 60 else "MISSED"
    print(
        f"selftest            median {t:6.2f} s  (target < 60 s: {verdict}; {60 / t:.0f}x headroom)"
    )


if __name__ == "__main__":
    main()
