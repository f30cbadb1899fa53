"""SIGINT and SIGTERM unwind a command rather than kill it: both raise KeyboardInterrupt in
the main thread, so every `finally` and context manager runs and releases what the command
leased (machines, locks, debugger sessions). Waits that could block (libvirt calls, guest
consoles) are bounded and wake on a signal, so unwinding takes seconds, not forever.

A second signal while unwinding is ignored with a message (cleanup is short and bounded); a
third abandons the cleanup, for a person who would rather clean up with `harness vm gc`.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from harness.errors import ExitStatus

__all__ = ["exit_status", "unwinding_signals"]

_HANDLED = (signal.SIGINT, signal.SIGTERM)


class _State:
    received: list[int] = []


def _handler(signum: int, _frame: FrameType | None) -> None:
    _State.received.append(signum)
    if len(_State.received) == 2:
        with contextlib.suppress(OSError, ValueError):
            print(
                "harness: releasing what this command holds; signal again to abandon it",
                file=sys.stderr,
                flush=True,
            )
        return
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def unwinding_signals() -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise KeyboardInterrupt (see the module docstring)."""
    _State.received = []
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {s: signal.signal(s, _handler) for s in _HANDLED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_status() -> int:
    """128 + the first signal received (130 for SIGINT, 143 for SIGTERM)."""
    if _State.received:
        return 128 + _State.received[0]
    return ExitStatus.INTERRUPTED
