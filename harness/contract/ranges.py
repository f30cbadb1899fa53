"""The integer ranges of trace fields, as msgspec types: decoding refuses anything outside.

Sequence numbers, times and thread ids are non-negative 64-bit signed integers (a
LARGE_INTEGER time is signed); object addresses are unsigned 64-bit; NTSTATUS values and the
small ids the driver keeps in a ULONG are unsigned 32-bit; an IRQL and a KPROCESSOR_MODE are
a byte.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

__all__ = ["ADDRESS_MAX", "I64", "U8", "U32", "U63", "Address", "Text", "check_address"]

U63 = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
"""Sequence numbers, times and thread ids: 0 to 2**63-1."""
ADDRESS_MAX: Final = 2**64 - 1
Address = Annotated[int, msgspec.Meta(ge=0)]
"""A kernel address, 0 to 2**64-1. msgspec cannot bound an integer above int64, so the
records holding one enforce the upper bound with `check_address` in `__post_init__`."""
U32 = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
"""NTSTATUS values (unsigned), worker, event, endpoint and swap ids, image versions."""
U8 = Annotated[int, msgspec.Meta(ge=0, le=255)]
"""A KIRQL or a KPROCESSOR_MODE."""
I64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A LARGE_INTEGER (a timeout)."""
Text = Annotated[str, msgspec.Meta(max_length=4096)]
"""Free text: a label, a scenario name."""


def check_address(value: int | None, field: str = "thread_object") -> None:
    """Raise ValueError (msgspec reports it as a validation error) above 2**64-1."""
    if value is not None and value > ADDRESS_MAX:
        raise ValueError(f"{field}: address {value} is above 2**64-1")
