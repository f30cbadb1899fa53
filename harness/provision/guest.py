"""Kept guests: machines that provisioning defines once per pool slot, boots once and saves as
a running-state snapshot (`ready`), unlike the machines a run leases and removes.

A kept guest is a pool machine (harness.vm.libvirt) whose Owner is marked kept, so `harness vm
gc` never takes it and `harness vm list` shows it. Each operation holds the slot's lease while
it works, so no run leases the slot midway. The definition is the pool's template rendered for
the slot; its digest, kept in the machine's directory, tells whether the guest is current: a
new image or pool setting makes it stale, and `start` then defines it afresh. Snapshots go
through libvirt's API, so they are listed (and revertable) while the guest is off. The roles
call these operations through ansible/library/harness_guest.py.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from harness.errors import ConfigError, InfrastructureError
from harness.vm import snapshot as snapshots
from harness.vm.bounded import with_timeout
from harness.vm.connection import import_libvirt, libvirt_errors, open_connection
from harness.vm.image import resolve_image
from harness.vm.lease import try_slot
from harness.vm.libvirt import LibvirtMachine
from harness.vm.metadata import Owner
from harness.vm.orphans import remove_domain

__all__ = ["GuestState", "KeptGuest"]

_DIGEST = "definition.sha256"
_SLOW = 10
"""A snapshot copies guest memory: it gets this many times libvirt_timeout (as in a pool)."""


class GuestState(msgspec.Struct, frozen=True, kw_only=True):
    """What a kept guest's slot holds now."""

    name: str
    defined: bool
    current: bool
    """Defined from the pool's present definition (image, template, settings)."""
    running: bool
    snapshots: list[str]
    addresses: list[str]
    """IPv4 addresses libvirt's DHCP leases give it on libvirt networks (running only)."""

    def ready(self, snapshot: str) -> bool:
        return self.current and snapshot in self.snapshots


class KeptGuest:
    """The kept guest of slot `slot` of a pool (domain hs-POOL-SLOT)."""

    def __init__(self, config: Any, slot: int) -> None:
        if not 0 <= slot < config.size:
            raise ConfigError(
                f"pool {config.name}: slot {slot} is outside 0-{config.size - 1}; "
                "raise the pool's size or use a lower slot"
            )
        self.config = config
        self.slot = slot
        self.name = f"hs-{config.name}-{slot}"

    @contextmanager
    def _machine(self) -> Iterator[LibvirtMachine]:
        """The slot's machine, its lease held and its domain (if any) attached."""
        config = self.config
        image = resolve_image(config.profile, config.image, f"pool {config.name}")
        lease = try_slot(config.state / "leases", config.name, self.slot)
        if lease is None:
            raise InfrastructureError(
                f"{self.name}: slot {self.slot} of pool {config.name} is "
                "leased by a run; try again when it has finished"
            )
        conn = open_connection(config.uri, config.libvirt_timeout)
        try:
            owner = Owner.provisioned(config.name, config.state / "machines" / self.name)
            machine = LibvirtMachine(conn, config, lease, image, owner=owner)
            yield machine
        finally:
            lease.release()
            conn.close()

    @staticmethod
    def _digest(machine: LibvirtMachine) -> str:
        """Of the definition the pool wants (rendered before attaching: no uuid in it)."""
        return hashlib.sha256(machine.render().encode()).hexdigest()

    def _state(self, machine: LibvirtMachine) -> tuple[GuestState, Any]:
        """The slot's state and its domain (None when undefined)."""
        wanted = self._digest(machine)
        domain = machine.attach()
        recorded = machine.files.dir / _DIGEST
        current = (
            domain is not None and recorded.is_file() and recorded.read_text().strip() == wanted
        )
        if domain is not None:
            self._check_kept(domain)
        running = machine.is_running()
        state = GuestState(
            name=self.name,
            defined=domain is not None,
            current=current,
            running=running,
            snapshots=snapshots.names(domain, self.name) if domain is not None else [],
            addresses=_addresses(domain) if running else [],
        )
        return state, domain

    def _check_kept(self, domain: Any) -> None:
        """Refuse to touch a domain of this name that a live run or someone else owns."""
        with libvirt_errors(f"cannot read domain {self.name}"):
            owner = Owner.from_domain_xml(domain.XMLDesc(0))
        if owner is None:
            raise InfrastructureError(
                f"domain {self.name} exists and is not the harness's; "
                "give the pool another name or remove that domain"
            )
        if not owner.kept and owner.is_alive():
            raise InfrastructureError(
                f"domain {self.name} belongs to live run {owner.run_id} "
                f"(pid {owner.pid}); give the pool another name"
            )

    def inspect(self) -> GuestState:
        with self._machine() as machine:
            return self._state(machine)[0]

    def start(self, wait: bool = True) -> tuple[bool, float]:
        """Running from the current definition (defined afresh when stale), waiting for the
        pool's boot marker if `wait`. Returns (changed, seconds it took to boot)."""
        with self._machine() as machine:
            return self._start(machine, wait)

    def _start(self, machine: LibvirtMachine, wait: bool) -> tuple[bool, float]:
        state, domain = self._state(machine)
        if state.current and state.running:
            return False, 0.0
        if not state.current:
            if domain is not None:  # stale: a new image or setting; its snapshots go with it
                remove_domain(domain, machine.owner)
                machine.attach()
            digest = self._digest(machine)
            machine.define()
            (machine.files.dir / _DIGEST).write_text(digest + "\n")
        began = time.monotonic()
        if wait:
            machine.boot()
        else:
            machine.start()
        return True, time.monotonic() - began

    def snapshot(self, name: str, stop: bool = False) -> bool:
        """Save the running guest as snapshot `name` (replacing one of that name), then power
        it off if `stop`."""
        with self._machine() as machine:
            state, domain = self._state(machine)
            if not state.running:
                raise InfrastructureError(
                    f"{self.name} is not running: start it before taking snapshot {name!r}"
                )
            self._save(machine, domain, name, stop)
            return True

    def _save(self, machine: LibvirtMachine, domain: Any, name: str, stop: bool) -> None:
        snapshots.create(
            with_timeout(domain, _SLOW * self.config.libvirt_timeout), name, "libvirt", self.name
        )
        if stop:
            machine.destroy()

    def ready(self, name: str, wait: bool = True, keep_running: bool = False) -> bool:
        """Current, with snapshot `name` taken right after a boot: nothing to do when it is."""
        with self._machine() as machine:
            if self._state(machine)[0].ready(name):
                return False
            self._start(machine, wait)
            self._save(machine, machine.attach(), name, stop=not keep_running)
            return True

    def stop(self) -> bool:
        with self._machine() as machine:
            if not self._state(machine)[0].running:
                return False
            machine.destroy()
            return True

    def remove(self) -> bool:
        """Undefine the guest (with its snapshots) and delete its files."""
        with self._machine() as machine:
            domain = self._state(machine)[1]
            if domain is None:
                machine.files.remove()
                return False
            remove_domain(domain, machine.owner)
            return True


def _addresses(domain: Any) -> list[str]:
    libvirt = import_libvirt()
    try:
        interfaces = domain.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE)
    except libvirt.libvirtError:  # no libvirt network (user-mode NIC): no leases to read
        return []
    return [
        a["addr"]
        for i in interfaces.values()
        for a in i.get("addrs") or []
        if a.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV4
    ]
