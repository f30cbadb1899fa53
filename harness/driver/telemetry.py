"""Decoder for hsprobe's binary telemetry: the records of drivers/include/hsp_telemetry.h.

Turns a telemetry file (what `hsprobectl trace --raw` writes, or the dump hsprobe leaves at
unload) into trace records, the same ones hsprobectl's C converter prints as JSON Lines.
tests/unit/driver proves the two agree on bytes a host program writes through the C header.
Pure: bytes in, records out, no I/O.
"""

from __future__ import annotations

import struct
from typing import Final

import msgspec

from harness.contract.startctx import EventKind, Routine, StartContext
from harness.contract.trace import (
    Alert,
    Create,
    Enter,
    Exit,
    Mark,
    Probe,
    Record,
    Signal,
    Swap,
    SwapPhase,
    ThreadExit,
    Unload,
)
from harness.errors import InputError

__all__ = ["LAYOUT_VERSION", "RECORD_SIZE", "Telemetry", "decode_record", "decode_telemetry"]

LAYOUT_VERSION: Final = 2
RECORD_SIZE: Final = 104
MAGIC: Final = b"HSPT"

# hsp_record head (+0..+40) and hsp_file_header; offsets are pinned by static asserts in C
_HEAD = struct.Struct("<HBBIQqqQ")
_FILE = struct.Struct("<4sHHIIQQ")
_PROBE = struct.Struct("<IIBB")
_CREATE = struct.Struct("<IBBBBQqIIIBB2x2Q")
_U32 = struct.Struct("<I")
_ENTER = struct.Struct("<QIBB")
_EXIT = struct.Struct("<QBBB")
_SWAP = struct.Struct("<IIBBBBI")

_PHASES: Final = tuple(SwapPhase)  # hsp_phase numbers are SwapPhase in declaration order
_ROUTINES: Final = (Routine.WRAPPER, Routine.RAW, Routine.NULL)
_MAX_EVENTS: Final = 128


class Telemetry(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded telemetry file."""

    records: tuple[Record, ...]
    dropped: int = 0
    """Records the ring overwrote before they were read (lost, not in `records`)."""
    source_version: int = 0
    """Image that wrote the file (1, 2), 0 when hsprobectl did."""


def _success(status: int) -> bool:
    return not status & 0x80000000


def _context(p: bytes) -> tuple[StartContext, int, int, bool]:
    (
        status,
        routine,
        _endpoint,
        mode,
        alertable,
        thread_object,
        timeout,
        count,
        wait_type,
        reason,
        has_timeout,
        fallback,
        bits0,
        bits1,
    ) = _CREATE.unpack_from(p)
    bits = bits0 | bits1 << 64
    events = tuple(
        EventKind.NOTIFICATION if bits >> i & 1 else EventKind.SYNC
        for i in range(min(count, _MAX_EVENTS))
    )
    ctx = StartContext(
        events=events,
        wait_type=wait_type,
        wait_reason=reason,
        wait_mode=mode,
        alertable=bool(alertable),
        timeout=timeout if has_timeout else None,
        routine=_ROUTINES[routine] if routine < len(_ROUTINES) else Routine.NULL,
    )
    return ctx, status, thread_object, bool(fallback)


def _create(seq: int, t: int, it: int, worker: int, thread: int, p: bytes) -> Create:
    ctx, status, thread_object, fallback = _context(p)
    if not _success(status):
        return Create(seq=seq, t=t, it=it, status=status, context=ctx, fallback=fallback)
    return Create(
        seq=seq,
        t=t,
        it=it,
        status=status,
        context=ctx,
        worker=worker,
        thread=thread,
        thread_object=thread_object,
        fallback=fallback,
    )


def _swap(seq: int, t: int, it: int, p: bytes) -> Swap:
    swap, status, phase, has_status, from_v, to_v, mask = _SWAP.unpack_from(p)
    return Swap(
        seq=seq,
        t=t,
        it=it,
        swap=swap,
        phase=_PHASES[phase] if phase < len(_PHASES) else SwapPhase.DONE,
        from_version=from_v,
        to_version=to_v,
        endpoints=tuple(i for i in range(32) if mask >> i & 1),
        status=status if has_status else None,
    )


def _label(p: bytes) -> str:
    # bytes up to the NUL, read as Latin-1: what the C converter's \u00XX escapes mean
    return p.split(b"\0", 1)[0].decode("latin-1")


def decode_record(raw: bytes) -> Record:
    """One record as its trace record."""
    kind, version, flag, worker, seq, t, it, thread = _HEAD.unpack_from(raw)
    p = raw[_HEAD.size : RECORD_SIZE]
    if kind == 1:
        flags, ext_status, enabled, exports = _PROBE.unpack_from(p)
        return Probe(
            seq=seq,
            t=t,
            it=it,
            enabled=bool(enabled),
            extension_status=ext_status,
            flags=flags,
            exports=bool(exports),
        )
    if kind == 2:
        return _create(seq, t, it, worker, thread, p)
    if kind == 3:
        return Signal(seq=seq, t=t, it=it, worker=worker, event=_U32.unpack_from(p)[0])
    if kind == 4:
        return Alert(seq=seq, t=t, it=it, worker=worker, user_apc=bool(flag))
    if kind == 5:
        obj, wait_status, irql, endpoint = _ENTER.unpack_from(p)
        return Enter(
            seq=seq,
            t=t,
            it=it,
            worker=worker,
            thread=thread,
            thread_object=obj,
            irql=irql,
            wait_status=wait_status,
            version=version,
            endpoint=endpoint,
        )
    if kind == 6:
        _obj, irql, returned, _endpoint = _EXIT.unpack_from(p)
        return Exit(
            seq=seq,
            t=t,
            it=it,
            worker=worker,
            thread=thread,
            irql=irql,
            returned=bool(returned),
            version=version,
        )
    if kind == 7:
        return ThreadExit(
            seq=seq, t=t, it=it, worker=worker, thread=thread, status=_U32.unpack_from(p)[0]
        )
    if kind == 8:
        return _swap(seq, t, it, p)
    if kind == 9:
        return Unload(seq=seq, t=t, it=it, version=version, live_workers=_U32.unpack_from(p)[0])
    label = _label(p) if kind == 10 else f"unknown telemetry kind {kind}"
    return Mark(seq=seq, t=t, it=it, label=label)


def decode_telemetry(data: bytes, *, path: str | None = None) -> Telemetry:
    """A telemetry file (header + records); InputError names what is wrong with it."""
    where = path or "<telemetry>"
    if len(data) < _FILE.size or data[:4] != MAGIC:
        raise InputError(
            "not an hsprobe telemetry file (no HSPT header); pass a file written by "
            "`hsprobectl trace --raw` or hsprobe's unload dump",
            path=where,
        )
    _, layout, size, count, source, dropped, _ = _FILE.unpack_from(data)
    if layout != LAYOUT_VERSION or size != RECORD_SIZE:
        raise InputError(
            f"telemetry layout {layout} with {size}-byte records; this harness reads layout "
            f"{LAYOUT_VERSION} ({RECORD_SIZE} bytes): use the matching driver build",
            path=where,
        )
    body = len(data) - _FILE.size
    if body < count * RECORD_SIZE:
        raise InputError(
            f"truncated: the header promises {count} records, the file holds "
            f"{body // RECORD_SIZE}; copy the file again",
            path=where,
        )
    records = tuple(
        decode_record(data[off : off + RECORD_SIZE])
        for off in range(_FILE.size, _FILE.size + count * RECORD_SIZE, RECORD_SIZE)
    )
    return Telemetry(records=records, dropped=dropped, source_version=source)
