"""`GdbstubDebugger`: the `Debugger` Protocol over QEMU's gdbstub, for guests without VBS.

Spec options (`gdbstub:port=1234,...`): host (127.0.0.1), port (required), timeout (10 s,
per exchange), hardware (1: Z1 breakpoints; 0: Z0), build (Windows build; default: read
from KUSER_SHARED_DATA), cid_offset (ETHREAD.Cid when the build is not in the table),
`module.NAME=0xBASE@IMAGE` (a driver's load address and image, to resolve `NAME!export`).
"""

from __future__ import annotations

import itertools
from typing import Any

from harness.debug import Stop, ThreadRef, windows
from harness.debug.remote import GdbRemote
from harness.errors import ConfigError, DebuggerError, HarnessTimeoutError

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
        self.remote = GdbRemote(host, port, timeout)
        self.hardware = hardware
        self.modules = dict(modules or {})
        self._build, self._cid_offset = build, cid_offset
        self._ids = itertools.count(1)
        self._breakpoints: dict[int, int] = {}
        self._running = False
        self._detached = False
        self.remote.connect()

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
        return self.remote.read(address, size)

    def write(self, address: int, data: bytes) -> None:
        self.remote.write(address, data)

    def register(self, name: str) -> int:
        return self.remote.register(name)

    # -- breakpoints ------------------------------------------------------------------------
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
        address = self.resolve(symbol)
        self._stopped()
        self.remote.insert_breakpoint(address, self.hardware)
        bp = next(self._ids)
        self._breakpoints[bp] = address
        return bp

    def clear(self, breakpoint: int) -> None:
        address = self._breakpoints.pop(breakpoint, None)
        if address is None:
            raise DebuggerError(f"no breakpoint {breakpoint} is set")
        self._stopped()
        if address not in self._breakpoints.values():
            self.remote.remove_breakpoint(address, self.hardware)

    # -- execution --------------------------------------------------------------------------
    def resume(self) -> None:
        if self._running:
            return
        pc = self.remote.register("rip")
        if pc in self._breakpoints.values():
            # QEMU stops again at the breakpoint it is resumed from: step over it the way
            # GDB does (remove, single-step, re-insert)
            self.remote.remove_breakpoint(pc, self.hardware)
            try:
                self.remote.step(self.remote.timeout)
            finally:
                self.remote.insert_breakpoint(pc, self.hardware)
        self.remote.cont()
        self._running = True

    def wait_break(self, timeout: float) -> Stop:
        self.resume()
        try:
            self.remote.wait_stop(timeout)
        except HarnessTimeoutError:
            self.remote.interrupt(self.remote.timeout)  # leave the target stopped, known
            self._running = False
            raise HarnessTimeoutError(f"no breakpoint was hit within {timeout:g} s") from None
        self._running = False
        pc = self.remote.register("rip")
        hit = [bp for bp, address in self._breakpoints.items() if address == pc]
        return Stop(breakpoint=hit[0] if hit else None, address=pc)

    def _stopped(self) -> None:
        if self._detached:
            raise DebuggerError(f"{self.remote.where}: already detached")
        if self._running:
            self.remote.interrupt(self.remote.timeout)
            self._running = False

    # -- Windows introspection ----------------------------------------------------------------
    def irql(self) -> int:
        self._stopped()
        return windows.irql(self.remote)

    def current_thread(self) -> ThreadRef:
        self._stopped()
        thread = windows.current_thread(self.remote, self)
        if self._build is None and self._cid_offset is None:
            self._build = windows.build_number(self)
        tid = windows.thread_id(self, thread, self._build or 0, self._cid_offset)
        return ThreadRef(id=tid, object=thread)

    def detach(self) -> None:
        if self._detached:
            return
        try:
            self._stopped()
            for address in set(self._breakpoints.values()):
                self.remote.remove_breakpoint(address, self.hardware)
            self._breakpoints.clear()
            self.remote.detach()
        finally:
            self._detached = True
            self.remote.close()

    def __enter__(self) -> GdbstubDebugger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()
