"""The debugger agent as one zipapp: `harness/debug/agent/` plus the standard-library-only
modules it imports (errors, rsp, regs, remote, session, windows, symbols, linux), under empty
package `__init__`s so that nothing else of the harness (msgspec, pefile at import) comes
along.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

__all__ = ["MODULES", "agent_bundle"]

_ROOT = Path(__file__).resolve().parents[1]  # the harness package
#: files shipped, relative to the harness package
MODULES = (
    "errors.py",
    "debug/rsp.py",
    "debug/regs.py",
    "debug/remote.py",
    "debug/session.py",
    "debug/windows.py",
    "debug/symbols.py",
    "debug/linux.py",
    "debug/agent/__init__.py",
    "debug/agent/__main__.py",
    "debug/agent/main.py",
    "debug/agent/wire.py",
    "debug/agent/kdtext.py",
    "debug/agent/engines.py",
    "debug/agent/gdbengine.py",
    "debug/agent/dbgeng.py",
)
_MAIN = b"import sys\nfrom harness.debug.agent.main import main\nsys.exit(main())\n"


def agent_bundle() -> tuple[bytes, str]:
    """(zipapp bytes, short sha256) - deterministic, so the hash names the version."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:

        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)

        add("__main__.py", _MAIN)
        add("harness/__init__.py", b"")
        add("harness/debug/__init__.py", b"")
        for module in MODULES:
            add(f"harness/{module}", (_ROOT / module).read_bytes())
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()[:16]
