"""Dump retention: per bucket keep the first N dumps and the newest, zstd-compressed, and
remove the others. The kept dumps are compressed before any other is removed, and a bucket
always keeps at least one dump, whatever N says. Console logs, crash.json and
trace tails are small and always kept.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from harness.errors import BackendUnavailableError, InfrastructureError
from harness.triage.store import CrashStore

__all__ = ["Policy", "Summary", "apply", "compress"]


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    keep_first: int = 3
    """Dumps kept from a bucket's oldest crashes (the first sighting matters). Default: 3."""
    keep_newest: bool = True
    """Also keep the newest crash's dump (the current state of the bug). Default: true."""
    level: int = 3
    """zstd level: 3 compresses a sparse guest dump to a few per cent at disk speed."""


class Summary(msgspec.Struct, kw_only=True):
    compressed: int = 0
    removed: int = 0
    freed: int = 0
    """Bytes no longer on disk."""


def compress(path: Path, level: int = 3) -> Path:
    """`path` as `path.zst`; the original is removed only once the copy is complete."""
    try:
        import zstandard
    except ImportError:
        raise BackendUnavailableError(
            "dump retention needs zstandard: pip install 'hotswap-harness[triage]'"
        ) from None
    target = path.with_name(path.name + ".zst")
    partial = path.with_name(path.name + ".zst.part")
    try:
        with path.open("rb") as src, partial.open("wb") as dst:
            zstandard.ZstdCompressor(level=level).copy_stream(src, dst, size=path.stat().st_size)
        partial.replace(target)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise InfrastructureError(f"cannot compress {path}: {e}") from None
    path.unlink()
    return target


def apply(store: CrashStore, policy: Policy) -> Summary:
    """Apply `policy` to every bucket's dumps."""
    summary = Summary()
    for bucket in store.buckets():
        with_dump = [o for o in store.occurrences(bucket.id) if o.dump and Path(o.dump).exists()]
        if not with_dump:
            continue
        keep = set(range(min(policy.keep_first, len(with_dump))))
        if policy.keep_newest or not keep:  # never leave a bucket without its one dump
            keep.add(len(with_dump) - 1)
        kept = [o for i, o in enumerate(with_dump) if i in keep]
        for occurrence in kept:
            dump = Path(occurrence.dump or "")
            if dump.suffix != ".zst":
                before = dump.stat().st_blocks * 512
                packed = compress(dump, policy.level)
                summary.freed += before - packed.stat().st_blocks * 512
                summary.compressed += 1
                store.set_dump(occurrence.source, str(packed))
        for occurrence in (o for i, o in enumerate(with_dump) if i not in keep):
            dump = Path(occurrence.dump or "")
            summary.freed += dump.stat().st_blocks * 512
            dump.unlink()
            summary.removed += 1
            store.set_dump(occurrence.source, None)
    return summary
