"""The reset policy's bookkeeping for a lab machine without snapshots: how many scenarios ran
on the current boot, and whether the next one needs a fresh boot.

`every = 1` reboots before each scenario but the first; `every = N` runs N scenarios per boot
(the driver reloaded between them); a failure or a crash makes the group end at once.
"""

from __future__ import annotations

__all__ = ["BootGroup"]


class BootGroup:
    """Scenarios run on the current boot."""

    def __init__(self, every: int) -> None:
        if every < 1:
            raise ValueError(f"scenarios per boot: {every}; use 1 or more")
        self.every = every
        self.count = 0
        self.dirty = False
        """A scenario on this boot failed or crashed: the next one boots afresh."""

    def due(self) -> bool:
        """Whether the next scenario needs a fresh boot."""
        return self.dirty or self.count >= self.every

    def fresh(self) -> None:
        """The machine just booted (and was prepared)."""
        self.count = 0
        self.dirty = False
