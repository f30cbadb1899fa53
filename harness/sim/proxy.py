"""The DriverProxy extension: endpoints, wrappers that count calls in flight, and the V1 swap.

Re-registering ids that exist is the swap: PreProcess callback, block new calls and drain
the ones in flight (a timeout gives STATUS_UNSUCCESSFUL), ProxyStalled callback, switch
every pointer at once, PostProcess callback, release the blocked calls. A failing callback
rolls everything back. Mutants bend individual steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.contract import status as st
from harness.sim.mutants import Mutant

if TYPE_CHECKING:
    from harness.sim.kernel import SimKernel

__all__ = ["Endpoint", "Phase", "ProxyExtension", "Wrapper"]

PhaseCallback = Callable[[str], int]
SwapDone = Callable[[int, bool], None]


class Phase:
    PRE = "pre"
    STALL = "stall"
    POST = "post"


@dataclass(frozen=True)
class Endpoint:
    """A registered function: its id, parameter count, and the image version it belongs to."""

    id: int
    params: int
    version: int
    symbol: str


@dataclass
class Wrapper:
    """What a worker is created with: calls go through here to the current endpoint."""

    id: int
    target: Endpoint
    in_flight: int = 0


@dataclass
class _Swap:
    entries: list[Endpoint]
    callback: PhaseCallback | None
    done: SwapDone
    swap_id: int
    previous: dict[int, Endpoint] = field(default_factory=dict)
    rolled_back: bool = False


class ProxyExtension:
    """One driver object's proxy extension."""

    def __init__(self, kernel: SimKernel):
        self.kernel = kernel
        self.wrappers: dict[int, Wrapper] = {}
        self.blocking = False
        self._blocked: list[Callable[[], None]] = []
        self._drain: Callable[[], None] | None = None

    # -- calls through wrappers -------------------------------------------------------
    def call(self, wrapper: Wrapper, invoke: Callable[[Endpoint], None]) -> None:
        """Enter `wrapper` (blocking while a swap stalls the proxy) and run `invoke`."""
        if self.blocking:
            self._blocked.append(lambda: self.call(wrapper, invoke))
            return
        wrapper.in_flight += 1
        invoke(wrapper.target)

    def returned(self, wrapper: Wrapper) -> None:
        wrapper.in_flight -= 1
        if self._drain is not None and self.in_flight() == 0:
            drain, self._drain = self._drain, None
            drain()

    def in_flight(self) -> int:
        return sum(w.in_flight for w in self.wrappers.values())

    # -- registration -----------------------------------------------------------------
    def register(
        self,
        entries: list[Endpoint],
        callback: PhaseCallback | None,
        done: SwapDone,
        *,
        swap_id: int = 0,
    ) -> None:
        """IoRegisterDriverProxyEndpoints; `done(status, rolled_back)` when it returns."""
        k = self.kernel
        for e in entries:
            old = self.wrappers.get(e.id)
            if (
                old is not None
                and old.target.params != e.params
                and not k.has(Mutant.PARAMETER_MISMATCH_ACCEPTED)
            ):
                done(st.INVALID_PARAMETER_3, False)
                return
        fresh = [e for e in entries if e.id not in self.wrappers]
        for e in fresh:
            self.wrappers[e.id] = Wrapper(e.id, e)
        existing = [e for e in entries if e not in fresh]
        if not existing:
            done(st.SUCCESS, False)
            return
        swap = _Swap(existing, callback, done, swap_id)
        order = [Phase.STALL, Phase.PRE] if k.has(Mutant.PHASES_OUT_OF_ORDER) else [Phase.PRE]
        for phase in order:
            if not self._phase(swap, phase):
                return
        self._block_and_drain(swap)

    def _phase(self, swap: _Swap, phase: str) -> bool:
        k = self.kernel
        status = swap.callback(phase) if swap.callback else st.SUCCESS
        if st.is_success(status) or k.has(Mutant.FAILED_CALLBACK_IGNORED):
            return True
        self._rollback(swap)
        self._finish(swap, st.SUCCESS if k.has(Mutant.ROLLBACK_REPORTS_SUCCESS) else status)
        return False

    def _block_and_drain(self, swap: _Swap) -> None:
        k = self.kernel
        self.blocking = True
        counted = swap.entries[-1:] if k.has(Mutant.PARTIAL_DRAIN) else swap.entries
        busy = sum(self.wrappers[e.id].in_flight for e in counted)
        if busy == 0 or k.has(Mutant.NO_DRAIN):
            self._stalled(swap)
            return
        timer = k.sched.after(k.drain_timeout, lambda: self._drain_timed_out(swap))

        def drained() -> None:
            timer.cancel()
            self._stalled(swap)

        self._drain = drained

    def _drain_timed_out(self, swap: _Swap) -> None:
        self._drain = None
        if self.kernel.has(Mutant.DRAIN_TIMEOUT_IGNORED):
            self._stalled(swap)
            return
        self._finish(swap, st.UNSUCCESSFUL)

    def _stalled(self, swap: _Swap) -> None:
        if not self.kernel.has(Mutant.PHASES_OUT_OF_ORDER) and not self._phase(swap, Phase.STALL):
            return
        if self.kernel.has(Mutant.STALL_LEAK):
            self._release()
        self._switch(swap)
        if self.kernel.has(Mutant.EARLY_RELEASE):
            self._release()
        if self._phase(swap, Phase.POST):
            self._finish(swap, st.SUCCESS)

    def _switch(self, swap: _Swap) -> None:
        k = self.kernel
        entries = swap.entries[:1] if k.has(Mutant.PARTIAL_SWITCH) else swap.entries
        old_version = self.wrappers[entries[0].id].target.version
        for e in entries:
            wrapper = self.wrappers[e.id]
            swap.previous[e.id] = wrapper.target
            if k.has(Mutant.ENDPOINT_CROSS_WIRED) and e is not entries[0]:
                wrapper.target = entries[0]
            elif not k.has(Mutant.OLD_ROUTINE_AFTER_SWAP):
                wrapper.target = e
        k.switched(swap.swap_id, old_version, swap.entries[0].version, [e.id for e in entries])

    def _rollback(self, swap: _Swap) -> None:
        swap.rolled_back = True
        if self.kernel.has(Mutant.NO_ROLLBACK):
            return
        for id_, previous in swap.previous.items():
            self.wrappers[id_].target = previous

    def _finish(self, swap: _Swap, status: int) -> None:
        swap.done(status, swap.rolled_back)
        self._release()

    def _release(self) -> None:
        """Let the calls that arrived while the proxy was stalled through."""
        self.blocking = False
        blocked, self._blocked = self._blocked, []
        if self.kernel.has(Mutant.BLOCKED_CALL_LOST):
            return
        for resume in blocked:
            resume()
