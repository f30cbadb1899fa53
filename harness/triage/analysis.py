"""What `harness triage PATH` analyses, by what PATH is: a crash directory, a run directory
(its crashes/), a Windows dump, an ELF core, a console log or !analyze output (by content),
any of them zstd-compressed by retention. Every input gives a `Finding`: a Crash, or the
reason it is unanalysable. Raw files are only ever read.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from harness.triage.analyze import parse_analyze
from harness.triage.bugchecks import describe
from harness.triage.context import ProxyContext, read_context
from harness.triage.crashdir import (
    ANALYZE,
    CONSOLE,
    TRACE_TAIL,
    CrashInfo,
    dump_file,
    is_crash_dir,
    read_info,
)
from harness.triage.model import Crash, Unanalysable
from harness.triage.oops import parse_console
from harness.triage.store import Occurrence

__all__ = [
    "Finding",
    "analyse_crash_dir",
    "analyse_file",
    "analyse_path",
    "crash_dirs",
    "occurrence_of",
]

#: text read from a log: a console tail is KiBs, a whole boot log a few MiB
_TEXT_LIMIT = 16 << 20
_ANALYZE_MARKS = ("Bugcheck Analysis", "BUGCHECK_CODE:", "FAILURE_BUCKET_ID:", "BUGCHECK_STR:")
_NO_REPORT = {
    "pvpanic": "guest panicked",
    "hyperv": "guest bug-checked",
    "console": "guest crashed",
    "unresponsive": "guest stopped answering",
}


class Finding(msgspec.Struct, kw_only=True):
    source: str
    crash: Crash | None = None
    unanalysable: str | None = None
    info: CrashInfo | None = None
    context: ProxyContext | None = None
    dump: str | None = None

    @property
    def verdict(self) -> str:
        if self.crash is None:
            return f"unanalysable: {self.unanalysable}"
        mark = f" (corrupted: {self.crash.corrupted})" if self.crash.corrupted else ""
        return f"crash{mark}: {self.crash.title}"


@contextlib.contextmanager
def _plain(path: Path) -> Iterator[Path]:
    """`path`, decompressed to a temporary file when retention compressed it."""
    if path.suffix != ".zst":
        yield path
        return
    try:
        import zstandard
    except ImportError:
        raise Unanalysable(
            "the file is zstd-compressed and zstandard is not installed: "
            "pip install 'hotswap-harness[triage]'"
        ) from None
    with tempfile.TemporaryDirectory(prefix="hs-triage-") as tmp:
        plain = Path(tmp) / path.stem
        try:
            with path.open("rb") as src, plain.open("wb") as dst:
                zstandard.ZstdDecompressor().copy_stream(src, dst)
        except zstandard.ZstdError as e:
            raise Unanalysable(f"damaged zstd file: {e}") from None
        yield plain


def _read_text(path: Path) -> str:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - _TEXT_LIMIT))
        return f.read().decode("utf-8", "replace")


def analyse_file(path: Path) -> Crash:
    """The crash in one file; raises Unanalysable."""
    with _plain(path) as plain:
        try:
            with plain.open("rb") as f:
                magic = f.read(4)
        except OSError as e:
            raise Unanalysable(f"cannot read: {e.strerror}") from None
        if magic == b"PAGE":
            from harness.triage.windump import read_dump

            return read_dump(plain)
        if magic == b"\x7fELF":
            from harness.triage.elfcore import read_elf

            core = read_elf(plain)
            where = "; ".join(f"{k} {v}" for k, v in core.details().items() if k.startswith("cpu"))
            raise Unanalysable(
                f"an ELF core holds registers, not the report ({where}); "
                "analyse its crash directory, whose console.log has the oops"
            )
        text = _read_text(plain)
        if "\0" in text[:4096]:
            raise Unanalysable("binary data that is neither a Windows dump nor an ELF core")
        if text.lstrip().startswith("<?xml") or "<ANALYSIS" in text[:4096]:
            raise Unanalysable(
                "XML (!analyze -xml) output is not read: save the text of !analyze -v instead"
            )
        if any(mark in text for mark in _ANALYZE_MARKS):
            return parse_analyze(text)
        return parse_console(text)


def _crash_of(directory: Path, info: CrashInfo, dump: Path | None) -> Crash:
    """The best analysis the directory allows: !analyze, then the dump or the console."""
    if (directory / ANALYZE).is_file():
        return parse_analyze(_read_text(directory / ANALYZE))
    if info.profile == "windows" and dump is not None:
        return analyse_file(dump)
    if info.profile == "linux" and (directory / CONSOLE).is_file():
        crash = parse_console(_read_text(directory / CONSOLE))
        if dump is not None:
            from harness.triage.elfcore import read_elf

            with _plain(dump) as plain:
                core = read_elf(plain)
            crash.details.update(core.details())
            if core.truncated:
                crash.corrupted = "; ".join(filter(None, [crash.corrupted, core.truncated]))
        return crash
    raise Unanalysable("no console report and no dump to read")


def _fallback(info: CrashInfo, why: str) -> Crash:
    """A crash nothing could analyse is still a crash: bucketed by what the host saw."""
    if info.bugcheck is not None:
        return Crash(
            platform=info.profile,
            kind=describe(info.bugcheck.code),
            bugcheck=info.bugcheck.code,
            params=tuple(info.bugcheck.params),
            corrupted=f"bug check from the hypervisor only: {why}",
        )
    kind = f"{_NO_REPORT[info.detected_by]} (no report)"
    return Crash(platform=info.profile, kind=kind, corrupted=why)


def analyse_crash_dir(directory: Path) -> Finding:
    info = read_info(directory)
    dump = dump_file(directory)
    try:
        crash = _crash_of(directory, info, dump)
    except Unanalysable as e:
        crash = _fallback(info, str(e))
    if info.bugcheck is not None and crash.bugcheck is None:
        crash.bugcheck, crash.params = info.bugcheck.code, tuple(info.bugcheck.params)
    if info.dump_error:
        crash.details["dump_error"] = info.dump_error
    tail = directory / TRACE_TAIL
    return Finding(
        source=str(directory),
        crash=crash,
        info=info,
        context=read_context(tail) if tail.is_file() else None,
        dump=str(dump) if dump else None,
    )


def crash_dirs(path: Path) -> list[Path]:
    """Crash directories under a run directory (RUN/crashes/*), or `path` itself."""
    if is_crash_dir(path):
        return [path]
    root = path / "crashes" if (path / "crashes").is_dir() else path
    return sorted(p for p in root.iterdir() if p.is_dir() and is_crash_dir(p))


def analyse_path(path: Path) -> list[Finding]:
    """Findings for a file, a crash directory or a run directory."""
    if path.is_dir():
        return [analyse_crash_dir(d) for d in crash_dirs(path)]
    try:
        crash = analyse_file(path)
    except Unanalysable as e:
        return [Finding(source=str(path), unanalysable=str(e))]
    return [
        Finding(
            source=str(path), crash=crash, dump=str(path) if "dump_type" in crash.details else None
        )
    ]


def occurrence_of(finding: Finding) -> Occurrence | None:
    """What the store remembers of a finding (None for an unanalysable one)."""
    if finding.crash is None:
        return None
    info, source = finding.info, Path(finding.source)
    mtime = datetime.fromtimestamp(source.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return Occurrence(
        source=str(source.resolve()),
        crash=finding.crash,
        time=info.time if info else mtime,
        scenario=info.scenario if info else "",
        repetition=info.repetition if info else 0,
        driver_build=info.driver_build if info else "",
        guest_build=info.guest_build if info else "",
        dump=str(Path(finding.dump).resolve()) if finding.dump else None,
        context=finding.context.summary() if finding.context else "",
    )
