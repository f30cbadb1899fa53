"""Thread invariants: one thread per worker for its whole life, and it ends exactly when the
return-value convention says so, with nothing of it running afterwards."""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract.invariants.base import Handler, Invariant
from harness.contract.invariants.workers import Worker
from harness.contract.trace import Create, Enter, Exit, ThreadExit, Wait

__all__ = ["SameEndpoint", "SameThread", "ThreadEnd"]


class SameThread(Invariant):
    name = "same-thread"
    description = (
        "every invocation of a worker runs on the thread (id and object) its create call made, "
        "across any number of swaps"
    )

    def setup(self) -> None:
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


class SameEndpoint(Invariant):
    name = "same-endpoint"
    description = "every invocation of a worker goes through the endpoint its create named"

    def setup(self) -> None:
        self._endpoint: dict[int, tuple[int, int]] = {}  # worker -> (endpoint, create seq)
        self._reported: set[int] = set()

    def handlers(self) -> Mapping[type, Handler]:
        return {Create: self.on_create, Enter: self.on_enter, ThreadExit: self.on_thread_exit}

    def on_create(self, rec: Create) -> None:
        if rec.worker is not None and rec.endpoint is not None:
            self._endpoint[rec.worker] = (rec.endpoint, rec.seq)

    def on_enter(self, rec: Enter) -> None:
        known = self._endpoint.get(rec.worker)
        if known is None or known[0] == rec.endpoint or rec.worker in self._reported:
            return
        self._reported.add(rec.worker)
        self.violate(
            f"worker {rec.worker} was created with endpoint {known[0]}'s wrapper but its "
            f"routine ran through endpoint {rec.endpoint}",
            known[1],
            rec.seq,
        )

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self._endpoint.pop(rec.worker, None)
        self._reported.discard(rec.worker)


class ThreadEnd(Invariant):
    name = "thread-end"
    description = (
        "the thread ends right after the routine asks it to (under the expected convention) "
        "and never otherwise, and nothing of a worker runs after its thread exited"
    )

    def setup(self) -> None:
        self.convention = self.expectations.convention
        # the `returned` that ends the thread; None (never `is` a bool) when not judged
        self._end = None if self.convention is None else self.convention.value_to_end()
        self._live = self.workers.live  # each worker's last Exit is kept there
        self._ended = self.workers.ended  # worker -> seq of its ThreadExit
        self._reported: dict[int, int] = {}  # worker -> seq of the end-Exit already reported

    def handlers(self) -> Mapping[type, Handler]:
        return {
            Enter: self.on_activity,
            Wait: self.on_activity,
            Exit: self.on_exit,
            ThreadExit: self.on_thread_exit,
        }

    def _after_end(self, rec: Enter | Wait | Exit) -> None:
        ended = self._ended.get(rec.worker)
        if ended is not None:
            tag = rec.__struct_config__.tag
            article = "an" if str(tag)[:1] in "aeiou" else "a"
            self.violate(
                f"worker {rec.worker} recorded {article} {tag} after its thread exited at "
                f"seq {ended}",
                ended,
                rec.seq,
            )

    def _rule(self, w: Worker) -> str:
        if w.fallback:
            return "the driver's fallback loop (documented convention)"
        return f"the {self.convention} convention"

    def _end_value(self, w: Worker) -> bool | None:
        """The `returned` that ends `w`'s thread; None when not judged. The driver's own
        fallback loop keeps running on TRUE, whatever the kernel's convention."""
        return False if w.fallback else self._end

    def on_exit(self, rec: Exit) -> None:
        if rec.worker not in self._live:
            self._after_end(rec)

    def on_activity(self, rec: Enter | Wait) -> None:
        w = self._live.get(rec.worker)
        if w is None:
            self._after_end(rec)
            return
        last = w.last_exit
        if last is None or last.returned is not self._end_value(w):
            return
        if self._reported.get(rec.worker) == last.seq:
            return  # its Wait was reported already; the Enter that follows adds nothing
        self._reported[rec.worker] = last.seq
        self.violate(
            f"worker {rec.worker} kept running after its routine returned "
            f"{_bool(last.returned)}, which ends the thread under {self._rule(w)}",
            last.seq,
            rec.seq,
        )

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self._reported.pop(rec.worker, None)
        w = self._live.get(rec.worker)
        told = None if w is None else w.last_exit
        if w is None or told is None:
            return
        end = self._end_value(w)
        if end is None or told.returned is end:
            return
        self.violate(
            f"worker {rec.worker}'s thread ended although its routine last returned "
            f"{_bool(told.returned)}, which means keep running under {self._rule(w)}",
            told.seq,
            rec.seq,
        )

    def finish(self) -> None:
        for worker, w in self._live.items():
            last = w.last_exit
            if last is not None and last.returned is self._end_value(w):
                self.violate(
                    f"worker {worker}'s routine returned {_bool(last.returned)}, which ends "
                    f"the thread under {self._rule(w)}, but the thread never exited",
                    last.seq,
                )


def _bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"
