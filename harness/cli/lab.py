"""`harness lab`: provision the lab with Ansible, and show what it holds.

    harness lab provision INVENTORY [--playbook NAME] [--limit HOSTS] [--tags TAGS]
                          [--vault-password-file FILE] [-e VARS]...
    harness lab status [INVENTORY] [--uri URI] [--images DIR] [--state-dir DIR]

`provision` runs ansible/playbooks/NAME.yml (default site: every role in order) through
ansible-runner with one line per host and task result, then one summary line per host. It
exits 0 when every host came through, 2 when a check refused the input before anything
changed (a missing variable, ISO or file, a wrong checksum, a host without virtualization,
no Vault password), 3 when a task failed or a host was unreachable. Plain `ansible-playbook`
runs the same playbooks (docs/lab.md). `status` reads this hypervisor: templates, guests with
their snapshots, held leases, and the inventory's hosts when one is named.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.arguments import seconds
from harness.errors import ConfigError, ExitStatus, InfrastructureError
from harness.vm.config import DEFAULT_STATE_DIR, DEFAULT_URI

__all__ = ["add_arguments", "main"]

_IMAGES = DEFAULT_STATE_DIR / "images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = sub.add_parser("provision", help="run the lab's playbooks on an inventory")
    run.add_argument(
        "inventory",
        type=Path,
        help="an inventory file or directory "
        "(ansible/inventories/local, or a copy of ansible/inventories/example-lab)",
    )
    run.add_argument(
        "--playbook",
        default="site",
        metavar="NAME",
        help="ansible/playbooks/NAME.yml (default site: every role in order)",
    )
    run.add_argument(
        "--limit", metavar="HOSTS", help="only these hosts or groups (Ansible's --limit pattern)"
    )
    run.add_argument("--tags", metavar="TAGS", help="only tasks with these tags, comma-separated")
    run.add_argument(
        "--vault-password-file",
        type=Path,
        metavar="FILE",
        help="the Ansible Vault password file for encrypted variables",
    )
    run.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="VARS",
        help="variables for this run (ansible-playbook -e: KEY=VALUE, YAML/JSON, "
        "or @FILE); repeatable",
    )
    status = sub.add_parser("status", help="templates, guests, snapshots and leases here")
    status.add_argument("inventory", type=Path, nargs="?", help="also list its hosts by group")
    status.add_argument("--uri", default=DEFAULT_URI, help=f"libvirt URI (default {DEFAULT_URI})")
    status.add_argument(
        "--images",
        type=Path,
        default=_IMAGES,
        help=f"where template images live (default {_IMAGES})",
    )
    status.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"where pools keep leases (default {DEFAULT_STATE_DIR})",
    )
    status.add_argument(
        "--timeout",
        type=seconds,
        default=60.0,
        metavar="S",
        help="seconds any one libvirt call may take (default 60)",
    )


def main(args: argparse.Namespace) -> int:
    if args.action == "provision":
        return _provision(args)
    return _status(args)


def _provision(args: argparse.Namespace) -> int:
    from harness.provision.runner import provision

    progress = provision(
        args.inventory,
        args.playbook,
        limit=args.limit,
        tags=args.tags,
        extra=[a for v in args.extra_vars for a in ("-e", v)],
        vault_password_file=args.vault_password_file,
    )
    outcome = progress.outcome
    if not outcome.counts:
        raise InfrastructureError(
            f"ansible-playbook ran no task on {args.inventory} (no host "
            "matched, or it failed before the play; rerun it by hand "
            "with -v)"
        )
    print("summary:")
    for line in progress.summary():
        print(f"  {line}")
    if not outcome.failed:
        return ExitStatus.OK
    hosts = ", ".join(sorted(outcome.failures))
    if outcome.bad_input:
        raise ConfigError(
            f"provisioning refused the input for {hosts} before changing it "
            "(the message is above); fix the inventory and rerun"
        )
    raise InfrastructureError(
        f"provisioning failed on {hosts} (the task and its message are "
        "above); fix it and rerun: what is done stays done"
    )


def _status(args: argparse.Namespace) -> int:
    from harness.provision import status

    if args.inventory is not None:
        print("hosts:")
        for group, hosts in status.inventory_hosts(args.inventory).items():
            print(f"  {group}: {', '.join(hosts)}")
    print("templates:")
    for image, what in status.templates(args.images) or [("-", "none")]:
        print(f"  {image}\t{what}")
    print("guests:")
    rows = status.guests(args.uri, args.timeout)
    for name, state, who, snaps in rows:
        print(f"  {name}\t{state}\t{who}\tsnapshots={','.join(snaps) or '-'}")
    if not rows:
        print("  none")
    print("leases:")
    for held in status.leases(args.state_dir) or ["none"]:
        print(f"  {held}")
    sys.stdout.flush()
    return ExitStatus.OK
