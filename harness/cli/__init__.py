"""The `harness` command: subcommands resolved lazily, every failure reported the same way.

Each subcommand lives in its own module with `add_arguments(parser)` and `main(args) -> int`;
only the chosen one is imported, so `harness --help` works with no optional extra installed.
`main` runs whichever is chosen under one contract (harness.errors.ExitStatus): a classed
error is one line on stderr and its status, a harness bug is one line and INTERNAL with the
traceback in a log file (harness.cli.failures), and SIGINT / SIGTERM unwind, releasing what
the command holds (harness.cli.interrupts).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from harness import __version__
from harness.cli.failures import status_of
from harness.cli.interrupts import exit_status, unwinding_signals
from harness.errors import ExitStatus

__all__ = ["COMMANDS", "main"]

# name -> (module, one-line help, extra it needs or "")
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("harness.cli.run", "run the hot-swap scenario suite and write reports", ""),
    "scenarios": ("harness.cli.scenarios", "list the scenario suite, one line each", ""),
    "check": ("harness.cli.check", "check a JSON Lines trace against the contract", ""),
    "selftest": ("harness.cli.selftest", "run the suite against every simulator mutant", ""),
    "fuzz": ("harness.cli.fuzz", "random scenario programs on a target; shrink what fails", ""),
    "vm": ("harness.cli.vm", "manage libvirt/QEMU test machines (list, gc, up)", "vm"),
    "debug": ("harness.cli.debug", "talk to a kernel debugger (gdbstub, pykd agent)", "remote"),
    "driver": ("harness.cli.driver", "inspect hsprobe driver images", "driver"),
    "triage": (
        "harness.cli.triage",
        "analyse guest crashes and bucket them by signature",
        "triage",
    ),
    "plan": ("harness.cli.plan", "check a test plan and list the cells it expands into", ""),
    "nightly": (
        "harness.cli.nightly",
        "run a test plan's cells into the results store (resumable)",
        "store",
    ),
    "history": (
        "harness.cli.history",
        "a scenario's verdicts over runs: regressions and flaky scenarios",
        "store",
    ),
    "signoff": (
        "harness.cli.signoff",
        "may this build ship? required cells, crashes, driver hashes",
        "store",
    ),
    "dashboard": ("harness.cli.dashboard", "static HTML dashboard over the results store", "store"),
    "farm": ("harness.cli.farm", "queue cells as jobs on PostgreSQL; run a host's worker", "store"),
    "lab": (
        "harness.cli.lab",
        "provision the lab with Ansible; show its guests and leases",
        "provision",
    ),
}


def _top_parser() -> argparse.ArgumentParser:
    lines = []
    for name, (_, help_, extra) in COMMANDS.items():
        needs = f"  [needs extra: {extra}]" if extra else ""
        lines.append(f"  {name:<10} {help_}{needs}")
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Integration harness for DriverProxy hot-swappable worker threads.",
        epilog="commands:\n" + "\n".join(lines) + "\n\n`harness COMMAND --help` for details.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    top = _top_parser()
    if not args:  # a script that forgot its command must not pass as clean
        top.print_usage(sys.stderr)
        print("harness: error: a command is required; `harness --help` lists them", file=sys.stderr)
        return ExitStatus.BAD_INPUT
    if args[0].startswith("-"):
        top.parse_args(args)  # --help / --version exit 0; anything else exits 2
        return ExitStatus.BAD_INPUT
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        top.parse_args([name])  # prints the choices and exits 2
    with unwinding_signals():
        return _run(name, rest)


def _run(name: str, rest: list[str]) -> int:
    module_name, help_, _ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
        parser = argparse.ArgumentParser(prog=f"harness {name}", description=help_)
        module.add_arguments(parser)
        ns = parser.parse_args(rest)
        return int(module.main(ns))
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            raise  # argparse's own: usage errors (2) and --help (0)
        print(f"harness {name}: error: {e.code}", file=sys.stderr)
        return ExitStatus.BAD_INPUT
    except KeyboardInterrupt:
        print(f"harness {name}: interrupted", file=sys.stderr)
        return exit_status()
    except BrokenPipeError:
        # the reader went away (`harness ... | head`): no complaint at exit about stdout
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE
    except Exception as e:
        return status_of(name, e)
