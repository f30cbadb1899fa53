"""`GdbstubDebugger`: the `Debugger` Protocol over QEMU's gdbstub, for guests without VBS.

Spec options (`gdbstub:port=1234,...`): host (127.0.0.1), port (required), timeout (10 s,
per exchange), hardware (1: Z1 breakpoints; 0: Z0), build (Windows build; default: read
from KUSER_SHARED_DATA), cid_offset (ETHREAD.Cid when the build is not in the table),
`module.NAME=0xBASE@IMAGE` (a driver's load address and image, to resolve `NAME!export`).
"""

from __future__ import annotations

from typing import Any

from harness.debug import Stop, ThreadRef, windows
from harness.debug.session import GdbSession
from harness.errors import ConfigError

__all__ = ["GdbstubDebugger", "Module", "parse_int"]


def parse_int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ConfigError(f"{what} must be an integer (0x... for hex), not {text!r}") from None


class Module:
    """A loaded driver: where it is and which image it came from."""

    def __init__(self, base: int, image: str) -> None:
        self.base, self.image = base, image


class GdbstubDebugger:
    """A kernel debugger over a gdbstub; connected and the target stopped on construction."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = 10.0,
        hardware: bool = True,
        build: int | None = None,
        cid_offset: int | None = None,
        modules: dict[str, Module] | None = None,
    ) -> None:
        self.session = GdbSession(host, port, timeout, hardware)
        self.remote = self.session.remote
        self.modules = dict(modules or {})
        self._build, self._cid_offset = build, cid_offset

    @classmethod
    def from_options(cls, options: dict[str, str], target: Any = None) -> GdbstubDebugger:
        opts = dict(options)
        if "port" not in opts:
            raise ConfigError("the gdbstub debugger needs port=N (QEMU's -gdb tcp::N)")
        modules = {}
        for key in [k for k in opts if k.startswith("module.")]:
            base, sep, image = opts.pop(key).partition("@")
            if not sep:
                raise ConfigError(f"{key} must be 0xBASE@IMAGE_PATH")
            modules[key[len("module.") :]] = Module(parse_int(base, key), image)
        build = opts.pop("build", None)
        cid = opts.pop("cid_offset", None)
        return cls(
            opts.pop("host", "127.0.0.1"),
            parse_int(opts.pop("port"), "port"),
            timeout=float(opts.pop("timeout", "10")),
            hardware=opts.pop("hardware", "1") not in ("0", "false", "no"),
            build=None if build is None else parse_int(build, "build"),
            cid_offset=None if cid is None else parse_int(cid, "cid_offset"),
            modules=modules,
        )

    # -- Memory ---------------------------------------------------------------------------
    def read(self, address: int, size: int) -> bytes:
        self.session.stopped()
        return self.remote.read(address, size)

    def write(self, address: int, data: bytes) -> None:
        self.session.stopped()
        self.remote.write(address, data)

    def register(self, name: str) -> int:
        self.session.stopped()
        return self.remote.register(name)

    # -- breakpoints and run control ----------------------------------------------------------
    def resolve(self, symbol: str) -> int:
        """`0xADDRESS` or `module!export` (module base + the export's RVA in its image)."""
        if symbol.lower().startswith("0x"):
            return parse_int(symbol, "breakpoint address")
        module, sep, name = symbol.partition("!")
        if not sep:
            raise ConfigError(f"breakpoint {symbol!r} must be module!export or 0xADDRESS")
        found = self.modules.get(module)
        if found is None:
            raise ConfigError(
                f"no load address for module {module!r}; pass module.{module}=0xBASE@IMAGE"
            )
        return found.base + windows.export_rva(found.image, name)

    def break_at(self, symbol: str) -> int:
        return self.session.insert(self.resolve(symbol))

    def clear(self, breakpoint: int) -> None:
        self.session.remove(breakpoint)

    def resume(self) -> None:
        self.session.resume()

    def wait_break(self, timeout: float) -> Stop:
        bp, pc = self.session.wait(timeout)
        return Stop(breakpoint=bp, address=pc)

    # -- Windows introspection ----------------------------------------------------------------
    def irql(self) -> int:
        self.session.stopped()
        return windows.irql(self.remote)

    def current_thread(self) -> ThreadRef:
        self.session.stopped()
        thread = windows.current_thread(self.remote, self.remote)
        if self._build is None and self._cid_offset is None:
            self._build = windows.build_number(self.remote)
        tid = windows.thread_id(self.remote, thread, self._build or 0, self._cid_offset)
        return ThreadRef(id=tid, object=thread)

    def detach(self) -> None:
        self.session.detach()

    def __enter__(self) -> GdbstubDebugger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()
