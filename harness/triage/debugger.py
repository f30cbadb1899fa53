"""`!analyze -v` of a Windows dump, run by the pykd agent on a configured debugger host and
saved beside the crash (crash directory: analyze.txt), where `harness triage` prefers it to
the dump alone: with symbols it names the faulting function, not just the module.

    text = analyze_on_host(lab.debugger_options, r"\\\\labshare\\crashes\\swap-r0\\memory.dmp")

The dump path is read by the debugger host: put crash directories on a share it reaches.
"""

from __future__ import annotations

from pathlib import Path

from harness.debug.pykd import AgentClient, PykdOptions, _open_stream
from harness.triage.crashdir import ANALYZE

__all__ = ["analyze_on_host", "save_analysis"]

#: !analyze downloads symbols on its first run: minutes, not seconds
TIMEOUT = 600.0


def analyze_on_host(options: PykdOptions, dump: str, timeout: float = TIMEOUT) -> str:
    """The !analyze -v text for `dump` (a path on the debugger host), through the agent the
    pykd debugger uses (same options; nothing attaches to a live kernel)."""
    stream, where = _open_stream(options)
    client = AgentClient(stream, where)
    try:
        client.start(60.0)
        return str(client.call("analyze", timeout, dump=dump))
    finally:
        client.close()


def save_analysis(directory: Path, text: str) -> Path:
    path = directory / ANALYZE
    path.write_text(text, encoding="utf-8")
    return path
