"""`harness vm`: list the harness's libvirt domains, remove orphans, or boot a pool machine.

    harness vm list [--uri URI]
    harness vm gc [--uri URI] [--dry-run]
    harness vm up CONFIG [--gdbstub [PORT]] [--forward GUEST_PORT]... [--hold]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from harness.vm.config import DEFAULT_STATE_DIR
from harness.vm.config import DEFAULT_URI as _URI

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="harness domains with their owner and state")
    gc = sub.add_parser("gc", help="remove harness domains whose owner process is dead")
    for each in (listing, gc):
        each.add_argument("--uri", default=_URI, help=f"libvirt URI (default {_URI})")
    gc.add_argument("--dry-run", action="store_true", help="only print what would be removed")
    gc.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                    help=f"where pools keep machine files (default {DEFAULT_STATE_DIR})")
    up = sub.add_parser("up", help="lease a machine of a pool, boot it to its marker, release")
    up.add_argument("config", help="pool config (TOML; see docs/vm.md)")
    up.add_argument("--gdbstub", nargs="?", const=0, type=int, metavar="PORT",
                    help="open the gdbstub on loopback (PORT, or a free one) and print it")
    up.add_argument("--forward", type=int, action="append", default=[], metavar="GUEST_PORT",
                    help="forward a free loopback port to GUEST_PORT (user-mode NIC, e.g. "
                         "22 on linux-standin) and print it")
    up.add_argument("--hold", action="store_true",
                    help="keep the machine until Ctrl-C or SIGTERM, then release it")


def main(args: argparse.Namespace) -> int:
    if args.action == "up":
        return _up(args)
    from harness.vm.connection import open_connection
    from harness.vm.orphans import harness_domains, remove_orphans, remove_stray_files

    conn = open_connection(args.uri)
    try:
        if args.action == "list":
            for domain, owner in harness_domains(conn):
                state = "running" if domain.isActive() else "off"
                alive = "alive" if owner.is_alive() else "orphan"
                print(f"{domain.name()}\t{state}\tpool={owner.pool}\trun={owner.run_id}\t"
                      f"pid={owner.pid} ({alive})")
            return 0
        if args.dry_run:
            for domain, owner in harness_domains(conn):
                if not owner.is_alive():
                    print(f"would remove {domain.name()} (owner pid {owner.pid} is gone)")
            return 0
        for name in remove_orphans(conn):
            print(f"removed {name}")
        for directory in remove_stray_files(conn, args.state_dir):
            print(f"removed stray files {directory}")
        return 0
    finally:
        conn.close()


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # so the pool's context manager releases what it leased


def _up(args: argparse.Namespace) -> int:
    from harness.vm import gdbstub as stub
    from harness.vm import open_pool
    from harness.vm.config import load_pool_config

    config = load_pool_config(args.config)
    if args.gdbstub:  # a busy port is bad input: say so before starting anything
        stub.check_free(args.gdbstub)
    signal.signal(signal.SIGTERM, _terminate)
    with open_pool(config) as pool:
        machine = pool.lease()
        seconds = machine.boot()
        print(f"{machine.name} booted in {seconds:.1f} s", flush=True)
        if args.gdbstub is not None:
            host, port = machine.gdbstub(args.gdbstub or None)  # type: ignore[attr-defined]
            print(f"gdbstub {host}:{port}", flush=True)
        for guest_port in args.forward:
            host, port = machine.forward(guest_port)  # type: ignore[attr-defined]
            print(f"forward {host}:{port} -> guest port {guest_port}", flush=True)
        if args.hold:
            print("holding; Ctrl-C or SIGTERM releases it", file=sys.stderr, flush=True)
            threading.Event().wait()
    return 0
