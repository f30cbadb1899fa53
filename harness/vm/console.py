"""The serial console of a machine: QEMU appends it to a file, read here as a stream of lines
with `wait_for(pattern, timeout)`, so a test waits for what the guest prints, not for time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import GuestBootError, HarnessTimeoutError
from harness.vm.config import check_seconds

__all__ = ["ConsoleLog"]

_POLL = 0.02  # seconds between looks at the file: QEMU writes it, we cannot be woken


class ConsoleLog:
    """A console file that grows while the machine runs. `alive` says whether anything can
    still be written (a stopped machine makes `wait_for` fail at once, not at its timeout)."""

    def __init__(self, path: Path, name: str, alive: Callable[[], bool] = lambda: True):
        self.path = path
        self.name = name
        self._alive = alive
        self._mark = 0

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def mark(self) -> int:
        """Remember the current end; later `wait_for` calls look only after it."""
        self._mark = self.size()
        return self._mark

    def text(self, since: int = 0) -> str:
        """What the guest printed after byte offset `since`."""
        try:
            with self.path.open("rb") as f:
                f.seek(since)
                # a serial console ends lines with CRLF; patterns use $ for end of line
                return f.read().decode("utf-8", "replace").replace("\r\n", "\n")
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern: str, timeout: float, since: int | None = None) -> re.Match[str]:
        """First complete line after `since` (default: the last mark) matching `pattern`."""
        check_seconds(timeout, f"{self.name}: console wait")
        regex = re.compile(pattern, re.MULTILINE)
        start = self._mark if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            # only whole lines: a half-written "TICK 1" must not match "TICK 1\d*"
            text = self.text(start)
            found = regex.search(text[: text.rfind("\n") + 1])
            if found:
                return found
            if not self._alive():
                raise GuestBootError(
                    f"{self.name} stopped before its console printed /{pattern}/; "
                    f"last output: {self._tail(start)!r}"
                )
            if time.monotonic() >= deadline:
                raise HarnessTimeoutError(
                    f"{self.name}: no console line matching /{pattern}/ within {timeout:g} s; "
                    f"last output: {self._tail(start)!r} (log: {self.path})"
                )
            time.sleep(_POLL)

    def _tail(self, since: int) -> str:
        return self.text(since)[-200:]
