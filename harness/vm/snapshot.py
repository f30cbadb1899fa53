"""Running-state snapshots of a libvirt domain, by two paths that keep the same qcow2
internal snapshots:

- hmp: `savevm` / `loadvm` in the running QEMU through libvirt's monitor passthrough; QEMU
  keeps running, so a revert costs a memory restore.
- libvirt: libvirt's snapshot API, which knows the snapshots as objects (virsh sees them)
  and may restart QEMU to revert.

A snapshot taken on one path can be loaded by `loadvm` on the other; libvirt's revert only
knows snapshots libvirt took.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from harness.errors import ConfigError, InfrastructureError
from harness.vm.connection import import_libvirt, libvirt_errors
from harness.vm.monitor import hmp

__all__ = ["create", "names", "parse_snapshot_table", "revert"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# `info snapshots`: "ID  TAG  VM SIZE  DATE  VM CLOCK  ICOUNT" then one row per snapshot
_ROW = re.compile(r"^\s*(\d+|--)\s+(\S+)\s+\S+", re.MULTILINE)


def parse_snapshot_table(table: str) -> list[str]:
    """Snapshot tags in the output of HMP `info snapshots`."""
    return [m[2] for m in _ROW.finditer(table) if m[2] != "TAG"]


def _check(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ConfigError(f"snapshot name {name!r}: use 1-64 letters, digits, '_', '.' or '-'")


def create(domain: Any, name: str, path: str, machine: str) -> None:
    """Save the running `domain` as snapshot `name` (replacing one of that name)."""
    _check(name)
    if path == "hmp":
        hmp(domain, f"savevm {name}", machine)
        return
    libvirt = import_libvirt()
    with libvirt_errors(f"{machine}: snapshot {name!r} failed"):
        if name in domain.snapshotListNames():
            domain.snapshotLookupByName(name).delete()
        xml = f"<domainsnapshot><name>{escape(name)}</name></domainsnapshot>"
        domain.snapshotCreateXML(xml, libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC)


def names(domain: Any, machine: str) -> list[str]:
    """Snapshots of either path: libvirt's objects and QEMU's internal snapshot table."""
    with libvirt_errors(f"{machine}: cannot list snapshots"):
        found = set(domain.snapshotListNames())
        running = domain.isActive()
    if running:
        table = hmp(domain, "info snapshots", machine)
        found.update(parse_snapshot_table(table))
    return sorted(found)


def revert(domain: Any, name: str, path: str, machine: str) -> None:
    """Bring snapshot `name` back, running."""
    _check(name)
    if path == "hmp":
        if name not in names(domain, machine):
            raise InfrastructureError(f"{machine}: no snapshot named {name!r} to revert to")
        # loadvm leaves the VM as the snapshot had it (running); `cont` covers a paused save
        hmp(domain, f"loadvm {name}", machine)
        hmp(domain, "cont", machine)
        return
    libvirt = import_libvirt()
    with libvirt_errors(f"{machine}: revert to snapshot {name!r} failed"):
        snap = domain.snapshotLookupByName(name)
        domain.revertToSnapshot(snap, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING)
