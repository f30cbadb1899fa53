"""Harness ownership of a domain: who made it (run id, pid + start time) and where its files
are. Written into the domain's libvirt <metadata> at definition, so a domain never exists
without it; read back by `harness vm gc` to tell a live run's machine from an orphan.

A kept domain (a guest that provisioning defined and keeps, harness.provision.guest) has no
owning process: it counts as alive until provisioning removes it."""

from __future__ import annotations

import os
import socket
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import msgspec

__all__ = ["NAMESPACE", "Owner", "process_start_time"]

NAMESPACE = "https://hotswap-harness.invalid/vm/1"
_NS = {"hs": NAMESPACE}


def process_start_time(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22), or None if
    there is no such process. With the pid it identifies a process even after pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


class Owner(msgspec.Struct, frozen=True, kw_only=True):
    """The run that owns a domain."""

    run_id: str
    pool: str
    pid: int
    start_time: int
    host: str
    workdir: str
    kept: bool = False
    """Defined by provisioning and kept (no owning process): never an orphan."""
    namespace: str = NAMESPACE

    @classmethod
    def current(cls, pool: str, workdir: Path, run_id: str | None = None) -> Owner:
        """This process as owner."""
        pid = os.getpid()
        return cls(
            run_id=run_id or os.environ.get("HARNESS_RUN_ID") or uuid.uuid4().hex[:12],
            pool=pool,
            pid=pid,
            start_time=process_start_time(pid) or 0,
            host=socket.gethostname(),
            workdir=str(workdir),
        )

    @classmethod
    def provisioned(cls, pool: str, workdir: Path) -> Owner:
        """The owner of a kept guest: provisioning, not a process."""
        return cls(
            run_id="provisioned",
            pool=pool,
            pid=0,
            start_time=0,
            host=socket.gethostname(),
            workdir=str(workdir),
            kept=True,
        )

    def is_alive(self) -> bool:
        """True while the owning process runs (on this host; another host's owner counts as
        alive, since we cannot see it), and always for a kept domain."""
        if self.kept or self.host != socket.gethostname():
            return True
        return process_start_time(self.pid) == self.start_time

    @classmethod
    def from_domain_xml(cls, xml: str) -> Owner | None:
        """The owner recorded in a domain's XML, or None for a domain the harness did not make."""
        try:
            root = ET.fromstring(xml)
        except ET.ParseError:
            return None
        node = root.find("metadata/hs:harness", _NS)
        owner = node.find("hs:owner", _NS) if node is not None else None
        if node is None or owner is None:
            return None
        try:
            return cls(
                run_id=node.findtext("hs:run", "", _NS),
                pool=node.findtext("hs:pool", "", _NS),
                pid=int(owner.get("pid", "0")),
                start_time=int(owner.get("start", "0")),
                host=owner.get("host", ""),
                workdir=node.findtext("hs:workdir", "", _NS),
                kept=owner.get("kept") == "yes",
            )
        except ValueError:
            return None
