"""`harness debug`: talk to a kernel debugger from the shell.

    harness debug regs  --gdbstub HOST:PORT                 cr8, gs_base, k_gs_base, cs, rip
    harness debug read  --gdbstub HOST:PORT ADDRESS SIZE    hex dump
    harness debug break --gdbstub HOST:PORT SYMBOL [-n N]   wait for N hits, print each stop
    harness debug agent --spec 'pykd:host=...' COMMAND       one KD command through the agent
    harness debug bundle OUT                                 write the agent zipapp
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.debug.gdbstub import GdbstubDebugger

__all__ = ["add_arguments", "main"]

_REGS = ("rip", "cs", "cr8", "gs_base", "k_gs_base", "cr3")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    for name, help_ in (("regs", "print control registers of the stopped CPU"),
                        ("read", "hex-dump guest virtual memory"),
                        ("break", "break on a symbol or address and report hits")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--gdbstub", required=True, metavar="HOST:PORT")
        p.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
        if name == "read":
            p.add_argument("address")
            p.add_argument("size")
        if name == "break":
            p.add_argument("symbol", help="0xADDRESS (or module!export with --module)")
            p.add_argument("-n", type=int, default=1, help="hits to wait for (default 1)")
            p.add_argument("--module", action="append", default=[],
                           metavar="NAME=0xBASE@IMAGE", help="a driver's base and image")
    p = sub.add_parser("agent", help="run one debugger command through the agent")
    p.add_argument("--spec", required=True, help="pykd:host=...,kd=... (see docs)")
    p.add_argument("text", help="the debugger command, e.g. '!irql'")
    p = sub.add_parser("bundle", help="write the agent zipapp for a debugger host")
    p.add_argument("out")


def _gdbstub(spec: str, timeout: float, modules: list[str] | None = None) -> GdbstubDebugger:
    from harness.debug.gdbstub import GdbstubDebugger

    host, sep, port = spec.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--gdbstub must be HOST:PORT, not {spec!r}")
    options = {"host": host or "127.0.0.1", "port": port, "timeout": str(timeout)}
    for item in modules or []:
        name, _, value = item.partition("=")
        options[f"module.{name}"] = value
    return GdbstubDebugger.from_options(options)


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ConfigError(f"{text!r} is not a number (use 0x... for hex)") from None


def main(args: argparse.Namespace) -> int:
    if args.action == "bundle":
        from harness.debug.bundle import agent_bundle

        data, digest = agent_bundle()
        with open(args.out, "wb") as f:
            f.write(data)
        print(f"{args.out}: agent bundle {digest}, {len(data)} bytes")
        return 0
    if args.action == "agent":
        from harness.debug import open_debugger
        from harness.debug.pykd import PykdDebugger

        debugger = open_debugger(args.spec)
        assert isinstance(debugger, PykdDebugger)
        try:
            print(debugger.command(args.text))
        finally:
            debugger.detach()
        return 0
    if args.action == "read":  # refuse bad numbers before touching the target
        args.address, args.size = _int(args.address), _int(args.size)
    with _gdbstub(args.gdbstub, args.timeout, getattr(args, "module", None)) as debugger:
        if args.action == "regs":
            for name in _REGS:
                print(f"{name:<10} {debugger.register(name):#018x}")
        elif args.action == "read":
            data = debugger.read(args.address, args.size)
            for off in range(0, len(data), 16):
                print(f"{args.address + off:016x}  {data[off:off + 16].hex(' ')}")
        else:
            bp = debugger.break_at(args.symbol)
            for _ in range(args.n):
                stop = debugger.wait_break(args.timeout)
                mark = "hit" if stop.breakpoint == bp else "stop"
                print(f"{mark} {stop.address:#x} irql={debugger.irql()} "
                      f"gs_base={debugger.register('gs_base'):#x}")
    return 0
