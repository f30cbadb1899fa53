"""The `sim` debugger: breakpoints and CPU state of the simulated kernel.

It stops the whole simulated machine at a routine's first instruction, as a kernel debugger
stops a real one, and reads the interrupted thread's IRQL and identity from the model, not
from the driver's trace. Timeouts are virtual seconds.
"""

from __future__ import annotations

from typing import Any

from harness.actions import MODULES, ROUTINE_EXPORT
from harness.debug import Stop, ThreadRef
from harness.errors import ConfigError, DebuggerError, HarnessTimeoutError
from harness.sim.scheduler import SECOND

__all__ = ["SimDebugger"]

#: where the simulated loader maps each image, and the routine's export RVA in it
MODULE_BASES = {name: 0xFFFFF806_1A000000 + (v - 1) * 0x100000 for v, name in MODULES.items()}
ROUTINE_RVA = 0x1010


class SimDebugger:
    """Debugger over a `SimTarget`."""

    def __init__(self, target: Any):
        self.kernel = target.kernel
        self._next_bp = 1

    @classmethod
    def from_options(cls, options: dict[str, str], *, target: Any = None) -> SimDebugger:
        if options:
            raise ConfigError(
                "the sim debugger takes no options, got " + ", ".join(sorted(options))
            )
        if target is None or not hasattr(target, "kernel"):
            raise ConfigError("the sim debugger can only attach to the sim target")
        return cls(target)

    def _address(self, symbol: str) -> int:
        module, _, name = symbol.partition("!")
        if module in MODULE_BASES and name == ROUTINE_EXPORT:
            return MODULE_BASES[module] + ROUTINE_RVA
        raise DebuggerError(
            f"cannot resolve {symbol!r}: the simulator knows only "
            + ", ".join(f"{m}!{ROUTINE_EXPORT}" for m in MODULE_BASES)
        )

    def break_at(self, symbol: str) -> int:
        self._address(symbol)
        bp, self._next_bp = self._next_bp, self._next_bp + 1
        self.kernel.breakpoints[bp] = symbol
        return bp

    def clear(self, breakpoint: int) -> None:
        self.kernel.breakpoints.pop(breakpoint, None)

    def wait_break(self, timeout: float) -> Stop:
        k = self.kernel
        if k.stopped is None:
            limit = k.sched.now + int(timeout * SECOND)
            k.sched.run_until(limit, stop=lambda: k.stopped is not None or k.crash is not None)
        if k.crash is not None:
            raise DebuggerError(f"the target bug-checked (0x{k.crash[0]:X}) while running")
        if k.stopped is None:
            raise HarnessTimeoutError(f"no breakpoint was hit within {timeout:g} s")
        return Stop(
            breakpoint=k.stopped.bp,
            address=self._address(k.stopped.symbol),
            symbol=k.stopped.symbol,
        )

    def _stopped(self) -> Any:
        if self.kernel.stopped is None:
            raise DebuggerError("the target is running: wait for a break first")
        return self.kernel.stopped

    def irql(self) -> int:
        irql: int = self._stopped().thread.irql
        return irql

    def current_thread(self) -> ThreadRef:
        thread = self._stopped().thread
        return ThreadRef(thread.id, thread.object)

    def read(self, address: int, size: int) -> bytes:
        try:
            return bytes(self.kernel.memory[a] for a in range(address, address + size))
        except KeyError as e:
            raise DebuggerError(f"memory at 0x{e.args[0]:X} is not readable") from None

    def write(self, address: int, data: bytes) -> None:
        for i, b in enumerate(data):
            self.kernel.memory[address + i] = b

    def resume(self) -> None:
        self._stopped()
        self.kernel.resume()

    def detach(self) -> None:
        self.kernel.breakpoints.clear()
        if self.kernel.stopped is not None:
            self.kernel.resume()
