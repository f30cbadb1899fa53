"""`harness debug`: talk to a kernel debugger from the shell.

    harness debug regs  --gdbstub HOST:PORT                 cr8, gs_base, k_gs_base, cs, rip
    harness debug read  --gdbstub HOST:PORT ADDRESS SIZE    hex dump
    harness debug break --gdbstub HOST:PORT SYMBOL [-n N]   wait for N hits, print each stop
    harness debug agent --spec 'pykd:...' COMMAND            one KD command through the agent
    harness debug bundle OUT                                 write the agent zipapp

Every argument is checked before anything connects: a bad one is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from harness.errors import ConfigError

__all__ = ["add_arguments", "main"]

_REGS = ("rip", "cs", "cr8", "gs_base", "k_gs_base", "cr3")
MAX_SECONDS = 86400.0
MAX_DUMP = 16 * 1024 * 1024


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_SECONDS:g} seconds, not {text}"
        )
    return value


def _integer(low: int, high: int, what: str) -> type[int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number (use 0x... for hex)"
            ) from None
        if not low <= value <= high:
            span = f"{low:#x}..{high:#x}" if what == "address" else f"{low}..{high}"
            raise argparse.ArgumentTypeError(f"{what} must be {span}, not {text}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse  # type: ignore[return-value]


def _endpoint(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"must be HOST:PORT with a port of 1..65535, not {text!r}")
    return host or "127.0.0.1", int(port)


def _module(text: str) -> tuple[str, int, str]:
    name, eq, rest = text.partition("=")
    base, at, image = rest.partition("@")
    try:
        address = int(base, 0)
    except ValueError:
        address = -1
    if not (name and eq and at and image) or address < 0:
        raise argparse.ArgumentTypeError(f"must be NAME=0xBASE@IMAGE, not {text!r}")
    return name, address, image


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    for name, help_ in (
        ("regs", "print control registers of the stopped CPU"),
        ("read", "hex-dump guest virtual memory"),
        ("break", "break on a symbol or address and report hits"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--gdbstub", required=True, metavar="HOST:PORT", type=_endpoint)
        p.add_argument("--timeout", type=_seconds, default=30.0, help="seconds (default 30)")
        if name == "read":
            p.add_argument("address", type=_integer(0, 2**64 - 1, "address"))
            p.add_argument("size", type=_integer(1, MAX_DUMP, "size"))
        if name == "break":
            p.add_argument("symbol", help="0xADDRESS (or module!export with --module)")
            p.add_argument(
                "-n",
                type=_integer(1, 1_000_000, "hits"),
                default=1,
                help="hits to wait for (default 1)",
            )
            p.add_argument(
                "--module",
                action="append",
                default=[],
                type=_module,
                metavar="NAME=0xBASE@IMAGE",
                help="a driver's base and image",
            )
    p = sub.add_parser("agent", help="run one debugger command through the agent")
    p.add_argument("--spec", required=True, help='pykd:host=...,kd="..." (see docs)')
    p.add_argument("text", help="the debugger command, e.g. '!irql'")
    p = sub.add_parser("bundle", help="write the agent zipapp for a debugger host")
    p.add_argument("out", type=Path, help="the file to write, e.g. hsagent.pyz")


def _bundle(out: Path) -> int:
    from harness.debug.bundle import agent_bundle

    if out.is_dir():
        raise ConfigError(
            f"{out} is a directory; name the file to write, e.g. {out / 'hsagent.pyz'}"
        )
    data, digest = agent_bundle()
    out.write_bytes(data)
    print(f"{out}: agent bundle {digest}, {len(data)} bytes")
    return 0


def _agent(spec: str, text: str) -> int:
    from harness.debug.pykd import PykdDebugger
    from harness.debug.spec import split_spec

    name, options = split_spec(spec)
    if name != "pykd":
        raise ConfigError(
            "debug agent runs commands through the debugger agent: give a "
            "pykd:... spec (for a gdbstub, use debug regs/read/break)"
        )
    debugger = PykdDebugger.from_options(options)
    try:
        print(debugger.command(text))
    finally:
        debugger.detach()
    return 0


def main(args: argparse.Namespace) -> int:
    if args.action == "bundle":
        return _bundle(args.out)
    if args.action == "agent":
        return _agent(args.spec, args.text)
    from harness.debug.gdbstub import GdbstubDebugger, Module

    host, port = args.gdbstub
    modules = {name: Module(base, image) for name, base, image in getattr(args, "module", [])}
    with GdbstubDebugger(host, port, timeout=args.timeout, modules=modules) as debugger:
        if args.action == "regs":
            for name in _REGS:
                print(f"{name:<10} {debugger.register(name):#018x}")
        elif args.action == "read":
            data = debugger.read(args.address, args.size)
            for off in range(0, len(data), 16):
                print(f"{args.address + off:016x}  {data[off : off + 16].hex(' ')}")
        else:
            bp = debugger.break_at(args.symbol)
            for _ in range(args.n):
                stop = debugger.wait_break(args.timeout)
                mark = "hit" if stop.breakpoint == bp else "stop"
                print(
                    f"{mark} {stop.address:#x} irql={debugger.irql()} "
                    f"gs_base={debugger.register('gs_base'):#x}"
                )
    return 0
