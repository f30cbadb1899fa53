"""NTSTATUS values the DriverProxy contract uses, their names, and wait-status arithmetic."""

from __future__ import annotations

from typing import Final

SUCCESS: Final = 0x00000000
PENDING: Final = 0x00000103
UNSUCCESSFUL: Final = 0xC0000001
NOT_IMPLEMENTED: Final = 0xC0000002
INVALID_PARAMETER: Final = 0xC000000D
INSUFFICIENT_RESOURCES: Final = 0xC000009A
NOT_SUPPORTED: Final = 0xC00000BB
INVALID_PARAMETER_3: Final = 0xC00000F1
NOT_FOUND: Final = 0xC0000225
DRIVER_BLOCKED: Final = 0xC000036C
RESOURCE_IN_USE: Final = 0xC0000708

# KeWaitForMultipleObjects results (docs/driverproxy.md section 4)
WAIT_0: Final = 0x00000000
ABANDONED_WAIT_0: Final = 0x00000080
USER_APC: Final = 0x000000C0
KERNEL_APC: Final = 0x00000100
ALERTED: Final = 0x00000101
TIMEOUT: Final = 0x00000102

MAXIMUM_WAIT_OBJECTS: Final = 64
THREAD_WAIT_OBJECTS: Final = 3

_NAMES: Final[dict[int, str]] = {
    SUCCESS: "STATUS_SUCCESS",
    PENDING: "STATUS_PENDING",
    UNSUCCESSFUL: "STATUS_UNSUCCESSFUL",
    NOT_IMPLEMENTED: "STATUS_NOT_IMPLEMENTED",
    INVALID_PARAMETER: "STATUS_INVALID_PARAMETER",
    INSUFFICIENT_RESOURCES: "STATUS_INSUFFICIENT_RESOURCES",
    NOT_SUPPORTED: "STATUS_NOT_SUPPORTED",
    INVALID_PARAMETER_3: "STATUS_INVALID_PARAMETER_3",
    NOT_FOUND: "STATUS_NOT_FOUND",
    DRIVER_BLOCKED: "STATUS_DRIVER_BLOCKED",
    RESOURCE_IN_USE: "STATUS_RESOURCE_IN_USE",
    USER_APC: "STATUS_USER_APC",
    KERNEL_APC: "STATUS_KERNEL_APC",
    ALERTED: "STATUS_ALERTED",
    TIMEOUT: "STATUS_TIMEOUT",
}


def wait(index: int) -> int:
    """STATUS_WAIT_<index>: the wait was satisfied by object number `index`."""
    if not 0 <= index < MAXIMUM_WAIT_OBJECTS:
        raise ValueError(f"wait index {index} is outside 0..63")
    return WAIT_0 + index


def wait_index(status: int) -> int | None:
    """The object index a STATUS_WAIT_n or STATUS_ABANDONED_WAIT_n carries, else None."""
    if WAIT_0 <= status < WAIT_0 + MAXIMUM_WAIT_OBJECTS:
        return status - WAIT_0
    if ABANDONED_WAIT_0 <= status < ABANDONED_WAIT_0 + MAXIMUM_WAIT_OBJECTS:
        return status - ABANDONED_WAIT_0
    return None


def name(status: int) -> str:
    """Symbolic name of an NTSTATUS, e.g. STATUS_WAIT_1, or its hex value when unknown."""
    if status in _NAMES and status != SUCCESS:
        return _NAMES[status]
    if WAIT_0 <= status < WAIT_0 + MAXIMUM_WAIT_OBJECTS:
        return "STATUS_SUCCESS" if status == SUCCESS else f"STATUS_WAIT_{status}"
    if ABANDONED_WAIT_0 <= status < ABANDONED_WAIT_0 + MAXIMUM_WAIT_OBJECTS:
        return f"STATUS_ABANDONED_WAIT_{status - ABANDONED_WAIT_0}"
    return f"0x{status:08X}"


def is_success(status: int) -> bool:
    """NT_SUCCESS(): severity bits say success or informational."""
    return (status & 0xC0000000) in (0, 0x40000000)
