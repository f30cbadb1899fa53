"""`Script`: hand-written traces for the checker tests, with seq and time filled in.

Each method appends one record and returns its seq, so a test can name the records a
violation must point at. Worker `w` runs on thread 100+w by default.
"""

from __future__ import annotations

from typing import Any

from harness.contract import status as st
from harness.contract.check import Violation, check
from harness.contract.convention import Convention
from harness.contract.startctx import StartContext
from harness.contract.trace import (
    Alert,
    Create,
    Enter,
    Exit,
    Expectations,
    Mark,
    Probe,
    Record,
    Signal,
    Swap,
    SwapPhase,
    ThreadExit,
    Unload,
    Wait,
)

T0 = 133_500_000_000_000_000
MS = 10_000  # 100 ns units per millisecond


def obj(worker: int) -> int:
    return 0xFFFF_8000_0000_0000 + 0x1000 * worker


class Script:
    def __init__(
        self, convention: Convention | None = Convention.DOCUMENTED, **expectations: Any
    ) -> None:
        self.expectations = Expectations(convention=convention, **expectations)
        self.records: list[Record] = []
        self.seq = 0
        self.t = T0

    def add(self, cls: type[Any], dt: int = 10, **fields: Any) -> int:
        self.seq += 1
        self.t += dt
        self.records.append(cls(seq=self.seq, t=self.t, **fields))
        return self.seq

    def probe(self, enabled: bool = True, extension_status: int = st.SUCCESS) -> int:
        return self.add(Probe, enabled=enabled, extension_status=extension_status)

    def create(
        self,
        worker: int | None = 1,
        ctx: StartContext | None = None,
        status: int = st.SUCCESS,
        **fields: Any,
    ) -> int:
        if worker is not None:
            fields.setdefault("thread", 100 + worker)
            fields.setdefault("thread_object", obj(worker))
        return self.add(
            Create, status=status, context=ctx or StartContext(), worker=worker, **fields
        )

    def wait(self, worker: int = 1, dt: int = 10) -> int:
        return self.add(Wait, dt, worker=worker, thread=100 + worker)

    def signal(self, worker: int = 1, event: int = 0, dt: int = 10) -> int:
        return self.add(Signal, dt, worker=worker, event=event)

    def alert(self, worker: int = 1, user_apc: bool = False, dt: int = 10) -> int:
        return self.add(Alert, dt, worker=worker, user_apc=user_apc)

    def mark(self, dt: int = 10, label: str = "end") -> int:
        return self.add(Mark, dt, label=label)

    def enter(self, worker: int = 1, status: int = st.WAIT_0, dt: int = 10, **fields: Any) -> int:
        fields.setdefault("thread", 100 + worker)
        fields.setdefault("thread_object", obj(worker))
        fields.setdefault("irql", 0)
        fields.setdefault("version", 1)
        return self.add(Enter, dt, worker=worker, wait_status=status, **fields)

    def exit(self, worker: int = 1, returned: bool = True, **fields: Any) -> int:
        fields.setdefault("irql", 0)
        fields.setdefault("version", 1)
        return self.add(Exit, worker=worker, thread=100 + worker, returned=returned, **fields)

    def thread_exit(self, worker: int = 1) -> int:
        return self.add(ThreadExit, worker=worker, thread=100 + worker)

    def cycle(self, worker: int = 1, event: int = 0, version: int = 1, **enter: Any) -> int:
        """Wait, signal `event`, enter with STATUS_WAIT_<event>, exit continuing; enter's seq."""
        self.wait(worker)
        self.signal(worker, event)
        seq = self.enter(worker, st.wait(event), version=version, **enter)
        self.exit(worker, version=version, irql=enter.get("irql", 0))
        return seq

    def end(self, worker: int = 1, version: int = 1, event: int = 0) -> int:
        """The routine asks to end (documented convention: FALSE) and the thread exits."""
        self.exit_enter(worker, version, event)
        return self.thread_exit(worker)

    def exit_enter(self, worker: int, version: int, event: int = 0) -> None:
        self.wait(worker)
        self.signal(worker, event)
        self.enter(worker, st.wait(event), version=version)
        self.exit(worker, returned=False, version=version)

    def swap(
        self,
        sid: int,
        phases: str = "request pre stall switch post done",
        old: int = 1,
        new: int = 2,
        endpoints: tuple[int, ...] = (1,),
        status: int = st.SUCCESS,
        switched: tuple[int, ...] | None = None,
    ) -> dict[str, int]:
        """The named phases of swap `sid`; their seqs by phase name."""
        seqs = {}
        for phase in phases.split():
            eps = endpoints if phase == "request" else ()
            if phase == "switch":
                eps = endpoints if switched is None else switched
            seqs[phase] = self.add(
                Swap,
                swap=sid,
                phase=SwapPhase(phase),
                from_version=old,
                to_version=new,
                endpoints=eps,
                status=status if phase == "done" else None,
            )
        return seqs

    def there_and_back(self, worker: int = 1) -> None:
        """Wake on version 1, swap to 2, wake, swap back to 1, wake."""
        self.cycle(worker, version=1)
        self.swap(1, old=1, new=2)
        self.cycle(worker, version=2)
        self.swap(2, old=2, new=1)
        self.cycle(worker, version=1)

    def unload(self, version: int = 1) -> int:
        return self.add(Unload, version=version)

    def check(self, *, disabled: tuple[str, ...] = ()) -> list[Violation]:
        return check(self.records, self.expectations, disabled=disabled)

    def found(self, invariant: str) -> list[tuple[int, ...]]:
        """Records of each violation of `invariant`, after asserting no other one fired."""
        violations = self.check()
        others = [v for v in violations if v.invariant != invariant]
        assert not others, others
        return [v.records for v in violations]


def valid_worker(script: Script, worker: int = 1, cycles: int = 2) -> None:
    """A worker created, woken `cycles` times, then ended cleanly."""
    script.create(worker)
    for _ in range(cycles):
        script.cycle(worker)
    script.end(worker)
