"""hsprobectl's answers that the lab target reads besides outcomes: `query` (which image is
loaded and answering, the feature state, where the telemetry stands). The same JSON comes
from hsprobectl.exe on Windows and hsprobectl on the Linux stand-in (CRLF or LF)."""

from __future__ import annotations

import msgspec

from harness.errors import InfrastructureError

__all__ = ["DriverInfo", "decode_info"]


class DriverInfo(msgspec.Struct, frozen=True, kw_only=True):
    """`hsprobectl query`."""

    layout: int
    image_version: int
    """The image that answered (1 when version 1 owns the device)."""
    enabled: bool
    feature_flags: int
    extension_status: int
    register_status: int = 0
    registered_version: int = 0
    """Whose functions the endpoints point at."""
    loaded_versions: tuple[int, ...] = ()
    live_workers: int = 0
    last_swap_status: int = 0
    next_seq: int = 0


_decoder = msgspec.json.Decoder(DriverInfo)


def decode_info(stdout: bytes) -> DriverInfo:
    """The query answer; anything else is an infrastructure error quoting what came."""
    lines = stdout.strip().splitlines()
    try:
        return _decoder.decode(lines[-1] if lines else b"")
    except msgspec.DecodeError as e:
        raise InfrastructureError(
            f"hsprobectl query answered something else ({e}): {stdout[:200]!r}"
        ) from None
