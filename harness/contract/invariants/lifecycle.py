"""Lifecycle invariants: the create call's status, and unloading an image only once its code
and its workers are gone."""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract import status as st
from harness.contract.invariants.base import Handler, Invariant
from harness.contract.startctx import create_status
from harness.contract.trace import Create, Enter, Probe, Swap, ThreadExit, Unload

__all__ = ["CreateStatus", "Unloading"]


class CreateStatus(Invariant):
    name = "create-status"
    description = (
        "an invalid start context gives exactly STATUS_INVALID_PARAMETER and no thread; a valid "
        "one is never rejected as invalid, and gives NOT_SUPPORTED/DRIVER_BLOCKED when the "
        "feature is off (unless the driver ran its own fallback thread)"
    )

    def setup(self) -> None:
        self._disabled: Probe | None = None  # the probe that said the feature is off

    def handlers(self) -> Mapping[type, Handler]:
        return {Probe: self.on_probe, Create: self.on_create}

    def on_probe(self, rec: Probe) -> None:
        off = not rec.enabled or rec.extension_status in (st.NOT_SUPPORTED, st.DRIVER_BLOCKED)
        self._disabled = rec if off else None

    def on_create(self, rec: Create) -> None:
        expected = create_status(rec.context, max_events=self.expectations.max_events)
        made_thread = rec.worker is not None or rec.thread is not None
        got = st.name(rec.status)
        caller = "the driver's fallback" if rec.fallback else "a create call"
        if expected is not None:
            if rec.status != expected:
                self.violate(
                    f"{caller} with an invalid start context returned {got}; it must "
                    f"return {st.name(expected)}",
                    rec.seq,
                )
            elif made_thread:
                self.violate(
                    f"a create call rejected with {got} still reported {_made(rec)}; a "
                    "rejected call must create no thread",
                    rec.seq,
                )
            return
        if rec.fallback:
            return  # the driver's own PsCreateSystemThread loop: not the feature's answer
        if rec.status == st.INVALID_PARAMETER:
            self.violate(
                "a create call with a valid start context returned STATUS_INVALID_PARAMETER",
                rec.seq,
            )
        elif self._disabled is not None:
            probe = self._disabled
            blocked = probe.extension_status == st.DRIVER_BLOCKED
            want = st.DRIVER_BLOCKED if blocked else st.NOT_SUPPORTED
            if rec.status != want:
                self.violate(
                    f"a create call returned {got} although the probe at seq {probe.seq} found "
                    f"the feature unavailable ({st.name(probe.extension_status)}); it must "
                    f"return {st.name(want)}",
                    probe.seq,
                    rec.seq,
                )
        elif not st.is_success(rec.status) and made_thread:
            self.violate(
                f"a create call that failed with {got} still reported {_made(rec)}; "
                "a failed call must create no thread",
                rec.seq,
            )


def _made(rec: Create) -> str:
    """`worker 3 on thread 4242`, naming only what the record reports."""
    parts = []
    if rec.worker is not None:
        parts.append(f"worker {rec.worker}")
    if rec.thread is not None:
        parts.append(f"thread {rec.thread}")
    return " on ".join(parts)


class Unloading(Invariant):
    name = "unload"
    description = (
        "after an image version unloads none of its code runs, and every worker running it "
        "ended before the unload"
    )

    def setup(self) -> None:
        self._live: dict[int, tuple[int, int | None]] = {}  # worker -> (create seq, version)
        self._unloaded: dict[int, int] = {}  # version -> seq of its unload
        self._versions: set[int] = set()  # every image version seen (a handful)

    def handlers(self) -> Mapping[type, Handler]:
        return {
            Create: self.on_create,
            Enter: self.on_enter,
            ThreadExit: self.on_thread_exit,
            Swap: self.on_swap,
            Unload: self.on_unload,
        }

    def on_create(self, rec: Create) -> None:
        if rec.worker is not None and st.is_success(rec.status):
            self._live[rec.worker] = (rec.seq, None)

    def on_enter(self, rec: Enter) -> None:
        live = self._live.get(rec.worker)
        if live is None or live[1] != rec.version:
            self._live[rec.worker] = (rec.seq if live is None else live[0], rec.version)
            self._versions.add(rec.version)
        if self._unloaded:
            unloaded = self._unloaded.get(rec.version)
            if unloaded is not None:
                self.violate(
                    f"worker {rec.worker} ran version {rec.version} code after that version "
                    f"unloaded at seq {unloaded}",
                    unloaded,
                    rec.seq,
                )

    def on_swap(self, rec: Swap) -> None:
        self._versions.add(rec.from_version)
        self._versions.add(rec.to_version)

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self._live.pop(rec.worker, None)

    def on_unload(self, rec: Unload) -> None:
        self._unloaded[rec.version] = rec.seq
        only_image = self._versions <= {rec.version}
        for worker, (origin, version) in self._live.items():
            # a worker that never ran is the unloading image's only if it is the only image
            if version == rec.version or (version is None and only_image):
                self.violate(
                    f"version {rec.version} unloaded while worker {worker} (created or last "
                    f"run at seq {origin}) was still alive; its thread must end first",
                    origin,
                    rec.seq,
                )
