"""Thread invariants: one thread per worker for its whole life, and it ends exactly when the
return-value convention says so, with nothing of it running afterwards."""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract.invariants.base import Handler, Invariant, ViolationLog
from harness.contract.invariants.workers import Workers
from harness.contract.trace import Create, Enter, Exit, Expectations, ThreadExit, Wait

__all__ = ["SameThread", "ThreadEnd"]


class SameThread(Invariant):
    name = "same-thread"
    description = (
        "every invocation of a worker runs on the thread (id and object) its create call made, "
        "across any number of swaps"
    )

    def __init__(self, expectations: Expectations, log: ViolationLog, workers: Workers) -> None:
        super().__init__(expectations, log, workers)
        # worker -> (thread id, thread object or None, seq that established them)
        self._thread: dict[int, tuple[int, int | None, int]] = {}
        self._reported: dict[int, tuple[int, int]] = {}  # worker -> last mismatch reported

    def handlers(self) -> Mapping[type, Handler]:
        return {Create: self.on_create, Enter: self.on_enter, ThreadExit: self.on_thread_exit}

    def on_create(self, rec: Create) -> None:
        if rec.worker is not None and rec.thread is not None:
            self._thread[rec.worker] = (rec.thread, rec.thread_object, rec.seq)

    def on_enter(self, rec: Enter) -> None:
        known = self._thread.get(rec.worker)
        if known is None:
            self._thread[rec.worker] = (rec.thread, rec.thread_object, rec.seq)
            return
        thread, obj, origin = known
        if obj is None and rec.thread == thread:
            self._thread[rec.worker] = (thread, rec.thread_object, origin)
            return
        if rec.thread == thread and rec.thread_object == obj:
            return
        seen = (rec.thread, rec.thread_object)
        if self._reported.get(rec.worker) == seen:
            return  # one report per move to another thread, not one per invocation
        self._reported[rec.worker] = seen
        self.violate(
            f"worker {rec.worker} ran on thread {rec.thread} (object {rec.thread_object:#x}) "
            f"but its thread is {thread} (object {obj or 0:#x}, from seq {origin})",
            origin,
            rec.seq,
        )

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self._thread.pop(rec.worker, None)
        self._reported.pop(rec.worker, None)


class ThreadEnd(Invariant):
    name = "thread-end"
    description = (
        "the thread ends right after the routine asks it to (under the expected convention) "
        "and never otherwise, and nothing of a worker runs after its thread exited"
    )

    def __init__(self, expectations: Expectations, log: ViolationLog, workers: Workers) -> None:
        super().__init__(expectations, log, workers)
        self.convention = expectations.convention
        self._ending: dict[int, Exit] = {}  # worker -> the Exit that asked its thread to end
        self._continued: dict[int, Exit] = {}  # worker -> last Exit that asked to continue
        self._ended = workers.ended  # worker -> seq of its ThreadExit

    def handlers(self) -> Mapping[type, Handler]:
        return {
            Enter: self.on_activity,
            Wait: self.on_activity,
            Exit: self.on_exit,
            ThreadExit: self.on_thread_exit,
        }

    def _after_end(self, rec: Enter | Exit | Wait) -> bool:
        ended = self._ended.get(rec.worker)
        if ended is None:
            return False
        self.violate(
            f"worker {rec.worker} recorded a {rec.__struct_config__.tag} after its thread "
            f"exited at seq {ended}",
            ended,
            rec.seq,
        )
        return True

    def on_activity(self, rec: Enter | Wait) -> None:
        if rec.worker in self._ended:
            self._after_end(rec)
            return
        ending = self._ending.pop(rec.worker, None)
        if ending is not None:
            self.violate(
                f"worker {rec.worker} kept running after its routine returned "
                f"{_bool(ending.returned)}, which ends the thread under the "
                f"{self.convention} convention",
                ending.seq,
                rec.seq,
            )

    def on_exit(self, rec: Exit) -> None:
        if rec.worker in self._ended and self._after_end(rec):
            return
        if self.convention is None:
            return
        if self.convention.ends(rec.returned):
            self._ending[rec.worker] = rec
            self._continued.pop(rec.worker, None)
        else:
            self._continued[rec.worker] = rec

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self._ending.pop(rec.worker, None)
        told = self._continued.pop(rec.worker, None)
        if told is not None:
            self.violate(
                f"worker {rec.worker}'s thread ended although its routine last returned "
                f"{_bool(told.returned)}, which means keep running under the "
                f"{self.convention} convention",
                told.seq,
                rec.seq,
            )

    def finish(self) -> None:
        for worker, ending in self._ending.items():
            self.violate(
                f"worker {worker}'s routine returned {_bool(ending.returned)}, which ends the "
                f"thread under the {self.convention} convention, but the thread never exited",
                ending.seq,
            )


def _bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"
