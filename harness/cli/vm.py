"""`harness vm`: list the harness's libvirt domains, remove orphans, or boot a pool machine.

`list` prints one line per domain: name, state, pool, run, owner (a pid, alive or orphan; or
`kept` for a guest provisioning keeps), snapshots.

    harness vm list [--uri URI] [--timeout S] [--pool NAME]
    harness vm gc [--uri URI] [--timeout S] [--pool NAME] [--dry-run] [--state-dir DIR]
    harness vm up CONFIG [--gdbstub [PORT]] [--forward GUEST_PORT]... [--hold]

gc exits 0 when everything it found is removed (or left to a live run), 3 when something
could not be removed (each failure is printed; the others are still removed).
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from harness.cli.arguments import port, seconds
from harness.errors import InfrastructureError
from harness.vm.config import DEFAULT_STATE_DIR
from harness.vm.config import DEFAULT_URI as _URI

__all__ = ["add_arguments", "main"]

_TIMEOUT = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="harness domains with their owner and state")
    gc = sub.add_parser("gc", help="remove harness domains whose owner process is dead")
    for each in (listing, gc):
        each.add_argument("--uri", default=_URI, help=f"libvirt URI (default {_URI})")
        each.add_argument(
            "--timeout",
            type=seconds,
            default=_TIMEOUT,
            metavar="S",
            help=f"seconds any one libvirt call may take (default {_TIMEOUT:g})",
        )
        each.add_argument(
            "--pool",
            metavar="NAME",
            help="only the domains (and files) of this pool (default: all)",
        )
    gc.add_argument("--dry-run", action="store_true", help="only print what would be removed")
    gc.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"where pools keep machine files (default {DEFAULT_STATE_DIR})",
    )
    up = sub.add_parser("up", help="lease a machine of a pool, boot it to its marker, release")
    up.add_argument("config", help="pool config (TOML; see docs/vm.md)")
    up.add_argument(
        "--gdbstub",
        nargs="?",
        const=0,
        type=port,
        metavar="PORT",
        help="open the gdbstub on loopback (PORT 1-65535, or a free one) and print it",
    )
    up.add_argument(
        "--forward",
        type=port,
        action="append",
        default=[],
        metavar="GUEST_PORT",
        help="forward a free loopback port to GUEST_PORT (user-mode NIC, e.g. "
        "22 on linux-standin) and print it",
    )
    up.add_argument(
        "--hold",
        action="store_true",
        help="keep the machine until Ctrl-C or SIGTERM, then release it",
    )


def main(args: argparse.Namespace) -> int:
    if args.action == "up":
        return _up(args)
    from harness.vm.connection import open_connection

    conn = open_connection(args.uri, args.timeout)
    try:
        if args.action == "list":
            return _list(conn, args.pool)
        return _gc(conn, args)
    finally:
        conn.close()


def _list(conn: Any, pool: str | None) -> int:
    from harness.vm.orphans import harness_domains
    from harness.vm.snapshot import names

    for domain, owner in harness_domains(conn, pool):
        state = "running" if domain.isActive() else "off"
        if owner.kept:  # provisioned (harness.provision.guest): no owning process
            who = "kept"
        else:
            who = f"pid={owner.pid} ({'alive' if owner.is_alive() else 'orphan'})"
        try:
            taken = ",".join(names(domain, domain.name())) or "-"
        except InfrastructureError:  # gone or stopping while we looked: list it all the same
            taken = "?"
        print(
            f"{domain.name()}\t{state}\tpool={owner.pool}\trun={owner.run_id}\t{who}\t"
            f"snapshots={taken}"
        )
    return 0


def _gc(conn: Any, args: argparse.Namespace) -> int:
    from harness.vm import orphans

    if args.dry_run:
        for domain, owner in orphans.harness_domains(conn, args.pool):
            if not owner.is_alive():
                print(f"would remove {domain.name()} (owner pid {owner.pid} is gone)")
        return 0
    done = orphans.remove_orphans(conn, args.pool)
    orphans.remove_stray_files(conn, args.state_dir, args.pool, done)
    orphans.remove_stale_locks(args.state_dir, args.pool, done)
    for name in done.removed:
        print(f"removed {name}")
    for reason in done.skipped:
        print(f"left {reason}")
    for reason in done.failed:
        print(f"harness vm: could not remove {reason}", file=sys.stderr)
    if done.failed:
        raise InfrastructureError(
            f"gc could not remove {len(done.failed)} item(s) (listed "
            f"above); removed {len(done.removed)}"
        )
    return 0


def _up(args: argparse.Namespace) -> int:
    from harness.vm import gdbstub as stub
    from harness.vm import open_pool
    from harness.vm.config import load_pool_config

    config = load_pool_config(args.config)
    if args.gdbstub:  # a busy port is bad input: say so before starting anything
        stub.check_free(args.gdbstub)
    # Ctrl-C and SIGTERM raise KeyboardInterrupt (harness/cli/interrupts.py): leaving the
    # pool's context releases the machine
    with open_pool(config) as pool:
        machine = pool.lease()
        seconds_ = machine.boot()
        print(f"{machine.name} booted in {seconds_:.1f} s", flush=True)
        if args.gdbstub is not None:
            host, port_ = machine.gdbstub(args.gdbstub or None)  # type: ignore[attr-defined]
            print(f"gdbstub {host}:{port_}", flush=True)
        for guest_port in args.forward:
            host, port_ = machine.forward(guest_port)  # type: ignore[attr-defined]
            print(f"forward {host}:{port_} -> guest port {guest_port}", flush=True)
        if args.hold:
            print("holding; Ctrl-C or SIGTERM releases it", file=sys.stderr, flush=True)
            threading.Event().wait()
    return 0
