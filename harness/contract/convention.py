"""The worker routine's return-value convention, a parameter and never a belief.

`documented`: TRUE keeps the thread running, FALSE ends it (the WDK reference).
`inverted`:   TRUE ends the thread (how ACPI.sys on 24H2 and 26H1 uses it).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Convention"]


class Convention(StrEnum):
    DOCUMENTED = "documented"
    INVERTED = "inverted"

    def ends(self, returned: bool) -> bool:
        """Whether a routine that returned `returned` asks its thread to end."""
        return returned is (self is Convention.INVERTED)

    def value_to_end(self) -> bool:
        """The BOOLEAN a routine returns to end its thread."""
        return self is Convention.INVERTED

    def value_to_continue(self) -> bool:
        """The BOOLEAN a routine returns to keep its thread running."""
        return self is Convention.DOCUMENTED

    @classmethod
    def measured(cls, true_ends: bool, false_ends: bool) -> Convention | None:
        """The convention a kernel showed, or None when its behaviour fits neither."""
        if false_ends and not true_ends:
            return cls.DOCUMENTED
        if true_ends and not false_ends:
            return cls.INVERTED
        return None
