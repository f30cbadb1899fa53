"""A cell-running worker process: `python -m harness.nightly.worker` reads cells (JSON lines
on stdin), runs each through the scenario runner, and writes what happens (JSON lines on its
own copy of stdout): each case as it ends, then the cell's end or its error.

One worker per machine slot, kept across cells: pytest, the simulator and a lab target's
booted machines are set up once, not per cell. The worker dies with its parent (even one
killed by SIGKILL), so a killed nightly leaves no cell running behind it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from typing import IO, Any

import msgspec

from harness.errors import HarnessError, InfrastructureError
from harness.plan.model import Cell
from harness.results.model import CaseResult, Verdict

__all__ = ["PARENT_ENV", "CaseEvent", "CellRequest", "EndEvent", "Event", "main"]

PARENT_ENV = "HARNESS_WORKER_PARENT"
"""The pid of the process that started the worker (it must die if that one has)."""


class CellRequest(msgspec.Struct, kw_only=True):
    cell: Cell
    out: str
    """This attempt's own directory (traces, crashes)."""


class CaseEvent(msgspec.Struct, tag="case", kw_only=True):
    case: CaseResult
    guest_build: str


class EndEvent(msgspec.Struct, tag="end", kw_only=True):
    error: str | None = None
    """Why the cell could not run (a whole-cell failure), None when it ran."""
    infrastructure: bool = False
    """The error was the machinery's (retry elsewhere), not the plan's."""


Event = CaseEvent | EndEvent


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        # Linux: PR_SET_PDEATHSIG (1) = SIGKILL when the parent exits
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    if str(os.getppid()) != os.environ.get(PARENT_ENV, str(os.getppid())):
        os._exit(1)  # the parent died before prctl took effect


def _protocol_stream() -> IO[bytes]:
    """Our own copy of stdout for events; fd 1 then points at stderr, so whatever a child
    program or a library prints cannot corrupt the event stream."""
    fd = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(fd, "wb", buffering=0)


_builds: dict[str, str] = {}


def _sim_build(spec: str) -> str:
    """The simulator's own description of itself (its 'guest build'), once per spec."""
    if spec not in _builds:
        from harness.targets import open_target

        target = open_target(spec)
        try:
            _builds[spec] = target.probe().build or spec
        finally:
            target.close()
    return _builds[spec]


def _checked_driver(case: CaseResult, cell: Cell) -> CaseResult:
    """The case, or an infrastructure error when the machine ran other driver files than the
    cell's build (a lab target reports each file's sha256): its verdict is not the build's."""
    ran = {
        k.removeprefix("sha256 "): v for k, v in case.environment.items() if k.startswith("sha256 ")
    }
    wrong = sorted(f for f, digest in ran.items() if f in cell.driver and cell.driver[f] != digest)
    if not wrong:
        return case
    case.verdict = Verdict.INFRA
    case.message = (
        f"the machine ran {', '.join(wrong)} with other sha256 than build "
        f"{cell.build} ({cell.build_id}); point the lab config's [driver] dist at "
        f"that build's files. {case.message}"
    ).strip()
    return case


def run_cell(request: CellRequest, emit: Any) -> None:
    """Run one cell, emitting a CaseEvent per case and an EndEvent at the end."""
    from harness.scenarios.runner import run_suite

    cell = request.cell
    try:
        fallback = _sim_build(cell.spec) if cell.kind == "sim" else ""

        def on_case(case: CaseResult) -> None:
            build = case.environment.get("guest_build", fallback) or fallback or "unknown"
            emit(CaseEvent(case=_checked_driver(case, cell), guest_build=build))

        os.makedirs(request.out, exist_ok=True)
        run_suite(
            target=cell.spec,
            seed=cell.seed,
            repeat=cell.repeat,
            keyword=cell.keyword or None,
            out=request.out,
            convention=cell.convention,
            on_case=on_case,
        )
    except InfrastructureError as e:
        emit(EndEvent(error=str(e), infrastructure=True))
        return
    except HarnessError as e:
        emit(EndEvent(error=str(e)))
        return
    emit(EndEvent())


def main() -> int:
    _die_with_parent()
    out = _protocol_stream()
    encoder = msgspec.json.Encoder()
    decoder = msgspec.json.Decoder(CellRequest)

    def emit(event: Event) -> None:
        out.write(encoder.encode(event) + b"\n")

    for line in sys.stdin.buffer:
        if line.strip():
            run_cell(decoder.decode(line), emit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
