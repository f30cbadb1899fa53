"""`harness run -j N`: the suite in N shards at once, merged back into one run.

Shard I runs every N-th scenario from the I-th (`--hs-shard I/N`). Shard 0 runs in this
process, so a lab machine the process already prepared (the CLI's up-front check) serves
it; shards 1..N-1 are spawned processes, each with its own target (on a lab: its own leased
machine). Progress from every shard reaches the callbacks through one queue; the cases
come back in the order of a serial run, so the reports of `-j N` and `-j 1` are alike.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec

from harness.errors import HarnessError, InfrastructureError
from harness.results.model import CaseResult

__all__ = ["run_parallel"]

_DONE = "done"


def _shard(options: Any, shard: str, messages: Any) -> None:
    """A spawned shard: run, report every start and case, then the result or the error."""
    from harness.scenarios.runner import run_options

    try:
        run = run_options(
            replace(options, shard=shard),
            on_start=lambda name, rep: messages.put(("start", name, rep)),
            on_case=lambda case: messages.put(("case", case)),
        )
        messages.put((_DONE, run.cases, run.exit_code, run.expected_convention))
    except HarnessError as e:
        messages.put(("error", type(e).__name__, str(e)))
    except BaseException as e:  # a shard's crash is reported, not left as a hang
        messages.put(("error", "InfrastructureError", f"{type(e).__name__}: {e}"))


def run_parallel(
    options: Any,
    jobs: int,
    order: list[tuple[str, int]],
    *,
    on_start: Callable[[str, int], None] | None,
    on_case: Callable[[CaseResult], None] | None,
) -> Any:
    """The suite as `jobs` shards; a SuiteRun with the cases in `order` (a serial run's)."""
    from harness.scenarios.runner import SuiteRun, run_options

    ctx = multiprocessing.get_context("spawn")  # never fork a process holding libvirt/SSH
    messages = ctx.Queue()
    procs = [
        ctx.Process(target=_shard, args=(options, f"{i}/{jobs}", messages), daemon=True)
        for i in range(1, jobs)
    ]
    for proc in procs:
        proc.start()
    lock = threading.Lock()
    results: list[tuple[Any, ...]] = []

    def pump() -> None:
        while len(results) < len(procs):
            try:
                message = messages.get(timeout=1.0)
            except queue.Empty:
                if not any(p.is_alive() for p in procs) and messages.empty():
                    results.extend(
                        [("error", "InfrastructureError", "a shard died")]
                        * (len(procs) - len(results))
                    )
                continue
            with lock:
                if message[0] == "start" and on_start:
                    on_start(message[1], message[2])
                elif message[0] == "case" and on_case:
                    on_case(message[1])
                elif message[0] in (_DONE, "error"):
                    results.append(message)

    def locked(fn: Callable[..., None] | None) -> Callable[..., None] | None:
        if fn is None:
            return None

        def call(*args: Any) -> None:
            with lock:
                fn(*args)

        return call

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        first = run_options(
            replace(options, shard=f"0/{jobs}"), on_start=locked(on_start), on_case=locked(on_case)
        )
    finally:
        reader.join()
        for proc in procs:
            proc.join(timeout=30)
    errors = [m for m in results if m[0] == "error"]
    if errors:
        raise InfrastructureError("; ".join(f"{m[1]}: {m[2]}" for m in errors))
    cases = list(first.cases) + [c for m in results for c in m[1]]
    rank = {key: i for i, key in enumerate(order)}
    cases.sort(key=lambda c: rank.get((c.scenario, c.repetition), len(rank)))
    codes = [first.exit_code, *(m[2] for m in results)]
    code = (
        max(codes) if all(c in (0, 1) for c in codes) else next(c for c in codes if c not in (0, 1))
    )
    if options.out:
        Path(options.out, "cases.json").write_bytes(msgspec.json.encode(cases))
    return SuiteRun(cases, code, first.expected_convention)
