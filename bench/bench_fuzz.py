"""Random scenario programs per second on the simulator, and what the fuzzer finds.

Prints: programs/s of `harness fuzz` on the correct simulator (generation, run and check
together, as a user runs it), with the default drain timeout and with a 20 ms one; how the
time splits between generating programs and the simulator running them; and,
per mutant, how many programs it took to find it (budget 300, no shrinking).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from harness.fuzz.execute import judge
from harness.fuzz.generate import generate
from harness.fuzz.program import Program
from harness.fuzz.search import Budget, fuzz
from harness.sim.mutants import Mutant

N = 500
BUDGET = 300


def _rate(spec: str) -> float:
    t0 = time.perf_counter()
    result = fuzz(spec, Budget(programs=N), seed=0, shrink=False)
    assert result.finding is None, result.finding.judged.summary()
    return N / (time.perf_counter() - t0)


def _generated() -> tuple[list[Program], float]:
    t0 = time.perf_counter()
    drawn = [generate(random.Random(f"0/{i}")) for i in range(N)]
    return drawn, time.perf_counter() - t0


def _hunt(mutant: str) -> tuple[str, int | None]:
    result = fuzz(f"sim:drain_timeout_ms=20,mutant={mutant}", Budget(programs=BUDGET), shrink=False)
    return mutant, result.programs if result.finding else None


def main() -> None:
    print(f"fuzz on the correct sim, {N} programs:")
    print(f"  sim (drain 1000 ms)          {_rate('sim'):7.1f} programs/s")
    print(f"  sim:drain_timeout_ms=20      {_rate('sim:drain_timeout_ms=20'):7.1f} programs/s")
    drawn, gen = _generated()
    t0 = time.perf_counter()
    records = sum(judge("sim:drain_timeout_ms=20", p)[0].records for p in drawn)
    run = time.perf_counter() - t0
    steps = statistics.mean(len(p.steps) for p in drawn)
    print(
        f"  generation only              {len(drawn) / gen:7.1f} programs/s "
        f"(mean {steps:.1f} steps)"
    )
    print(
        f"  run + check only             {len(drawn) / run:7.1f} programs/s "
        f"({records / run:,.0f} trace records/s)"
    )
    with ProcessPoolExecutor(min(2, os.cpu_count() or 1)) as pool:
        hunted = list(pool.map(_hunt, [m.value for m in Mutant]))
    found = [n for _, n in hunted if n is not None]
    print(
        f"mutants found within {BUDGET} programs: {len(found)}/{len(hunted)}; programs to "
        f"the finding: median {statistics.median(found):g}, max {max(found)}"
    )
    for mutant, n in hunted:
        print(f"  {mutant:<30} {n if n is not None else 'not found'}")


if __name__ == "__main__":
    main()
