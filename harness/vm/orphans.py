"""Finding and removing harness domains: every domain the harness defines carries an Owner
in its metadata, so `harness vm gc` can remove those whose owner process is gone (a run
killed by SIGKILL, a crashed CI job) without touching anyone else's machines."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from harness.vm.connection import import_libvirt, libvirt_errors
from harness.vm.lease import is_held
from harness.vm.metadata import Owner

__all__ = ["harness_domains", "remove_domain", "remove_orphans", "remove_stray_files"]


def harness_domains(conn: Any) -> list[tuple[Any, Owner]]:
    """Every domain (running or not) the harness made, with its owner."""
    libvirt = import_libvirt()
    found = []
    with libvirt_errors("cannot list libvirt domains"):
        domains = conn.listAllDomains()
    for domain in domains:
        try:
            xml = domain.XMLDesc(0)
        except libvirt.libvirtError:  # vanished while we looked: someone else removed it
            continue
        owner = Owner.from_domain_xml(xml)
        if owner is not None:
            found.append((domain, owner))
    return found


def remove_domain(domain: Any, owner: Owner | None) -> None:
    """Power off, undefine (with snapshot and NVRAM metadata) and delete the machine's files.
    A domain that disappears midway is fine: someone finished the job."""
    libvirt = import_libvirt()
    name = domain.name()
    flags = (libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
             | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
             | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA)
    with libvirt_errors(f"cannot remove domain {name}"):
        try:
            if domain.isActive():
                domain.destroy()
            domain.undefineFlags(flags)
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
    if owner is not None and owner.workdir and Path(owner.workdir).name == name:
        shutil.rmtree(owner.workdir, ignore_errors=True)


def remove_orphans(conn: Any) -> list[str]:
    """Remove harness domains whose owner is dead; names of those removed."""
    removed = []
    for domain, owner in harness_domains(conn):
        if not owner.is_alive():
            remove_domain(domain, owner)
            removed.append(domain.name())
    return removed


def remove_stray_files(conn: Any, state_dir: Path) -> list[str]:
    """Remove machine directories with no domain and no lease holder: a run killed between
    creating a machine's files and defining its domain leaves one."""
    names = {domain.name() for domain, _ in harness_domains(conn)}
    removed = []
    for directory in sorted((state_dir / "machines").glob("hs-*-*")):
        pool, _, slot = directory.name.removeprefix("hs-").rpartition("-")
        if directory.name in names or not slot.isdigit():
            continue
        if not is_held(state_dir / "leases", pool, int(slot)):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(str(directory))
    return removed
