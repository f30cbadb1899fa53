"""Finding and removing harness domains: every domain the harness defines carries an Owner
in its metadata, so `harness vm gc` can remove those whose owner process is gone (a run
killed by SIGKILL, a crashed CI job) without touching anyone else's machines.

A dead owner's slot can be leased again at any moment, and the new run reuses the domain
name and the machine directory. So gc removes nothing without first taking that slot's
lease (the one a run holds for as long as it uses the slot), and once holding it, looks
again at who owns the domain now. One failure does not stop it: every orphan is tried.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.vm.connection import import_libvirt, libvirt_errors
from harness.vm.lease import Lease, try_slot
from harness.vm.metadata import Owner

__all__ = [
    "Collection",
    "harness_domains",
    "remove_domain",
    "remove_orphans",
    "remove_stale_locks",
    "remove_stray_files",
]

_NAME = re.compile(r"hs-(?P<pool>[A-Za-z0-9-]+)-(?P<slot>\d+)")


@dataclass
class Collection:
    """What one gc pass did: removed, left alone (and why), failed (and why)."""

    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def harness_domains(conn: Any, pool: str | None = None) -> list[tuple[Any, Owner]]:
    """Every domain (running or not) the harness made, with its owner; only those of pool
    `pool` if given."""
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
        if owner is not None and pool in (None, owner.pool):
            found.append((domain, owner))
    return found


def remove_domain(domain: Any, owner: Owner | None) -> None:
    """Power off, undefine (with snapshot and NVRAM metadata) and delete the machine's files.
    A domain that disappears midway is fine: someone finished the job. The caller holds the
    slot's lease."""
    libvirt = import_libvirt()
    name = domain.name()
    flags = (
        libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
        | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    )
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


def _lookup(conn: Any, name: str) -> Any:
    """The domain called `name`, or None when there is none."""
    libvirt = import_libvirt()
    with libvirt_errors(f"cannot look up domain {name}"):
        try:
            return conn.lookupByName(name)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise


def _ours(name: str, pool: str | None) -> bool:
    """Whether `name` is a machine name hs-POOL-SLOT (of `pool`, if given)."""
    found = _NAME.fullmatch(name)
    return found is not None and pool in (None, found["pool"])


def _slot_lease(name: str, lock_dir: Path) -> Lease | None:
    """The lease of machine `name`'s slot if it is free now, else None."""
    found = _NAME.fullmatch(name)
    if found is None:
        return None
    return try_slot(lock_dir, found["pool"], int(found["slot"]))


def _collect(conn: Any, name: str, owner: Owner, done: Collection) -> None:
    if not _ours(name, None):
        done.skipped.append(f"{name}: not named hs-POOL-SLOT; remove it by hand")
        return
    if not owner.workdir:
        done.skipped.append(f"{name}: its metadata names no work directory; remove it by hand")
        return
    lease = _slot_lease(name, Path(owner.workdir).parent.parent / "leases")
    if lease is None:
        done.skipped.append(f"{name}: its slot is leased by a live run, which replaces it")
        return
    with lease:  # under the lease: who owns the domain now?
        domain = _lookup(conn, name)
        if domain is None:
            return  # removed meanwhile
        with libvirt_errors(f"cannot read the definition of {name}"):
            now = Owner.from_domain_xml(domain.XMLDesc(0))
        if now != owner or now is None or now.is_alive():
            done.skipped.append(f"{name}: it changed owner while gc looked")
            return
        remove_domain(domain, owner)
        done.removed.append(name)


def remove_orphans(
    conn: Any, pool: str | None = None, done: Collection | None = None
) -> Collection:
    """Remove harness domains (of `pool`, if given) whose owner is dead, each under its
    slot's lease."""
    done = done if done is not None else Collection()
    for domain, owner in harness_domains(conn, pool):
        if owner.is_alive():
            continue
        name = domain.name()
        try:
            _collect(conn, name, owner, done)
        except HarnessError as e:
            done.failed.append(f"{name}: {e}")
    return done


def remove_stray_files(
    conn: Any, state_dir: Path, pool: str | None = None, done: Collection | None = None
) -> Collection:
    """Remove machine directories (of `pool`, if given) with no domain, each under its
    slot's lease: a run killed between creating a machine's files and defining its domain
    leaves one."""
    done = done if done is not None else Collection()
    for directory in sorted((state_dir / "machines").glob("hs-*-*")):
        if not _ours(directory.name, pool):
            continue
        try:
            lease = _slot_lease(directory.name, state_dir / "leases")
            if lease is None:
                continue
            with lease:
                if _lookup(conn, directory.name) is not None:
                    continue  # a domain's files: remove_orphans decides about those
                shutil.rmtree(directory)
            done.removed.append(f"stray files {directory}")
        except (HarnessError, OSError) as e:
            done.failed.append(f"{directory}: {e}")
    return done


def remove_stale_locks(
    state_dir: Path, pool: str | None = None, done: Collection | None = None
) -> Collection:
    """Remove lock files (of `pool`, if given) of slots nobody holds (left by runs killed
    with SIGKILL)."""
    done = done if done is not None else Collection()
    for path in sorted((state_dir / "leases").glob("*-*.lock")):
        name = "hs-" + path.name.removesuffix(".lock")
        if not _ours(name, pool):
            continue
        try:
            lease = _slot_lease(name, path.parent)
        except HarnessError as e:
            done.failed.append(f"{path}: {e}")
            continue
        if lease is not None:
            lease.release()  # removes the file, safely: see harness/vm/lease.py
    return done
