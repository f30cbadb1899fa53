"""`GdbstubDebugger`: the `Debugger` Protocol over QEMU's gdbstub, for guests without VBS.
`GdbstubOptions` documents the spec options (`gdbstub:port=1234,...`); a driver's load
address and image, to resolve `NAME!export`, is `module.NAME=0xBASE@IMAGE`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from harness.debug import Stop, ThreadRef, windows
from harness.debug.remote import CONNECT_TIMEOUT
from harness.debug.session import GdbSession
from harness.debug.spec import Port, Seconds, convert
from harness.errors import ConfigError

__all__ = ["GdbstubDebugger", "GdbstubOptions", "Module", "parse_int"]


def parse_int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ConfigError(f"{what} must be an integer (0x... for hex), not {text!r}") from None


class Module(msgspec.Struct, frozen=True):
    """A loaded driver: where it is and which image it came from."""

    base: int
    image: str


class GdbstubOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Options of `gdbstub:...` specs."""

    port: Port
    """QEMU's -gdb tcp::PORT."""
    host: str = "127.0.0.1"
    timeout: Seconds = 10.0
    """Per exchange, seconds."""
    connect_timeout: Seconds = CONNECT_TIMEOUT
    """How long a peer gets to answer like a gdbstub at all."""
    hardware: bool = True
    """Z1 (hardware) breakpoints; 0 for Z0 (software)."""
    build: int | None = None
    """Windows build (for the offset table); default: read from KUSER_SHARED_DATA."""
    cid_offset: int | None = None
    """ETHREAD.Cid offset, for a build the harness knows no offset for."""
    symbols: str | None = None
    """Symbol path (local stores or directories, `;`-separated): ETHREAD.Cid is then read
    from the running kernel's own PDB instead of the offset table."""


class GdbstubDebugger:
    """A kernel debugger over a gdbstub; connected and the target stopped on construction."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = 10.0,
        connect_timeout: float = CONNECT_TIMEOUT,
        hardware: bool = True,
        build: int | None = None,
        cid_offset: int | None = None,
        symbols: str | None = None,
        modules: dict[str, Module] | None = None,
    ) -> None:
        self.session = GdbSession(host, port, timeout, hardware, connect_timeout)
        self.remote = self.session.remote
        self.modules = dict(modules or {})
        self._build, self._cid_offset, self._symbols = build, cid_offset, symbols

    @classmethod
    def from_options(cls, options: dict[str, str], target: Any = None) -> GdbstubDebugger:
        plain = {k: v for k, v in options.items() if not k.startswith("module.")}
        opts = convert(plain, GdbstubOptions, "gdbstub", dynamic=("module.NAME",))
        modules = {}
        for key, value in options.items():
            if key.startswith("module."):
                base, sep, image = value.partition("@")
                if not sep or not key[len("module.") :]:
                    raise ConfigError(f"gdbstub debugger: {key} must be module.NAME=0xBASE@IMAGE")
                modules[key[len("module.") :]] = Module(parse_int(base, key), image)
        return cls.open(opts, modules)

    @classmethod
    def open(
        cls, opts: GdbstubOptions, modules: dict[str, Module] | None = None
    ) -> GdbstubDebugger:
        return cls(
            opts.host,
            opts.port,
            timeout=opts.timeout,
            connect_timeout=opts.connect_timeout,
            hardware=opts.hardware,
            build=opts.build,
            cid_offset=opts.cid_offset,
            symbols=opts.symbols,
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
        if self._cid_offset is None:  # resolved once: symbols cost a scan of the kernel
            self._cid_offset = windows.cid_offset(
                self.remote, self.remote, build=self._build, symbol_path=self._symbols
            )
        return ThreadRef(id=windows.thread_id(self.remote, thread, self._cid_offset), object=thread)

    def detach(self) -> None:
        self.session.detach()

    def __enter__(self) -> GdbstubDebugger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()
