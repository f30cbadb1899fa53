"""The worker-origin invariant: a worker exists only if a create call made it.

hsprobe numbers a worker only when its create call succeeds, and a failed create reports no
thread; so a record of a worker no successful create made, or the routine running on a
thread a failed create reported, means a thread the kernel said it did not make is running
the driver's code (with a start context the driver has freed). A trace that starts mid-run
(`"partial": true` in its header, such as a crash capture's tail) is not judged by this.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract import status as st
from harness.contract.invariants.base import Handler, Invariant, RecentIds
from harness.contract.trace import Alert, Create, Enter, Exit, Signal, ThreadExit, Wait

__all__ = ["WorkerOrigin"]


class WorkerOrigin(Invariant):
    name = "worker-origin"
    description = (
        "every record of a worker follows the successful create that made it, and the routine "
        "never runs on a thread a failed create reported"
    )

    def setup(self) -> None:
        self._made: dict[int, int] = {}  # live worker -> seq of its create
        self._ended = RecentIds()  # worker -> seq of its thread exit (thread-end judges those)
        self._reported: set[int] = set()  # workers already reported: once each
        self._failed: dict[int, int] = {}  # thread a failed create reported -> its seq

    def handlers(self) -> Mapping[type, Handler]:
        if self.workers.partial:
            return {}
        return {
            Create: self.on_create,
            Wait: self.on_record,
            Signal: self.on_record,
            Alert: self.on_record,
            Enter: self.on_enter,
            Exit: self.on_record,
            ThreadExit: self.on_thread_exit,
        }

    def on_create(self, rec: Create) -> None:
        if rec.worker is not None and st.is_success(rec.status):
            self._made[rec.worker] = rec.seq
            self._failed.pop(rec.thread or 0, None)  # a thread id may be reused
        elif rec.thread is not None:
            self._failed[rec.thread] = rec.seq

    def on_record(self, rec: Wait | Signal | Alert | Exit) -> None:
        if rec.worker not in self._made and rec.worker not in self._ended:
            self._unknown(rec)

    def on_enter(self, rec: Enter) -> None:
        failed = self._failed.get(rec.thread)
        if failed is not None:
            self.violate(
                f"worker {rec.worker}'s routine ran on thread {rec.thread}, which the create "
                f"call at seq {failed} reported although it failed",
                failed,
                rec.seq,
            )
        if rec.worker not in self._made and rec.worker not in self._ended:
            self._unknown(rec)

    def on_thread_exit(self, rec: ThreadExit) -> None:
        if self._made.pop(rec.worker, None) is not None:
            self._ended.add(rec.worker, rec.seq)
        elif rec.worker not in self._ended:
            self._unknown(rec)

    def _unknown(self, rec: Wait | Signal | Alert | Enter | Exit | ThreadExit) -> None:
        if rec.worker in self._reported:
            return
        self._reported.add(rec.worker)
        tag = str(rec.__struct_config__.tag)
        self.violate(
            f"worker {rec.worker} recorded {'an' if tag[0] in 'aeiou' else 'a'} {tag} but no "
            "successful create made it: a thread the kernel did not report is running the "
            "driver's code",
            rec.seq,
        )
