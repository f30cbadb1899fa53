"""`!analyze -v` of a Windows dump, run by the pykd agent on a configured debugger host and
saved beside the crash (crash directory: analyze.txt), where `harness triage` prefers it to
the dump alone: with symbols it names the faulting function, not just the module.

    text = analyze_on_host({"host": "dbghost", "user": "lab", "key": "...",
                            "known_hosts": "..."}, r"\\\\labshare\\crashes\\swap-r0\\memory.dmp")

The dump path is read by the debugger host: put crash directories on a share it reaches.
"""

from __future__ import annotations

from pathlib import Path

from harness.debug.pykd import AgentClient, _open_stream
from harness.triage.crashdir import ANALYZE

__all__ = ["analyze_on_host", "save_analysis"]

#: !analyze downloads symbols on its first run: minutes, not seconds
TIMEOUT = 600.0


def analyze_on_host(options: dict[str, str], dump: str, timeout: float = TIMEOUT) -> str:
    """The !analyze -v text for `dump` (a path on the debugger host). Options as the pykd
    debugger spec takes them (host, user, key, known_hosts, python, engine...)."""
    opts = dict(options)
    stream, where = _open_stream(opts, opts.get("engine", "pykd"))
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
