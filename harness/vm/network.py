"""Isolated libvirt networks (no forwarding: host and guests only), such as the one KDNET
uses. Defined from vm/templates/network-isolated.xml.j2 when missing, started when inactive;
shared by every machine that names it, so never removed by a run.

A new network gets a /24 no other libvirt network (and no host interface) uses: libvirt
refuses to start a network whose subnet is taken ("already in use by interface ..."), and
a fixed subnet would make every second network on a host fail.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, InfrastructureError
from harness.vm.connection import import_libvirt, libvirt_errors
from harness.vm.template import render

__all__ = ["ensure_isolated_network"]

_CANDIDATES = [f"192.168.{n}.0/24" for n in range(251, 199, -1)]
"""Subnets tried in turn for a new network, the first being the one docs/vm.md names."""


def ensure_isolated_network(
    conn: Any, template_dir: Path, name: str, subnet: str | None = None
) -> Any:
    """The active isolated network `name` (host at its subnet's first address); a new one
    gets `subnet` (a /24) if given, else the first free one of 192.168.251.0/24 down to
    192.168.200.0/24."""
    libvirt = import_libvirt()
    try:
        network = conn.networkLookupByName(name)
    except libvirt.libvirtError:
        network = None
    if network is not None:
        if not network.isActive():
            with libvirt_errors(f"cannot start network {name}"):
                network.create()
        return network
    tried = []
    for candidate in _candidates(conn, name, subnet):
        network = _define(conn, template_dir, name, candidate)
        try:
            network.create()
            return network
        except libvirt.libvirtError as e:  # taken by a host interface libvirt does not own
            tried.append(f"{candidate}: {e.get_error_message()}")
            with libvirt_errors(f"cannot undefine network {name} after it failed to start"):
                network.undefine()
    why = "; ".join(tried) or "no free /24 from 192.168.251.0 down to 192.168.200.0"
    raise InfrastructureError(f"cannot start network {name}: {why}")


def _candidates(conn: Any, name: str, subnet: str | None) -> Iterator[ipaddress.IPv4Network]:
    used = _subnets_in_use(conn)
    if subnet is not None:
        try:
            wanted = ipaddress.IPv4Network(subnet)
        except ValueError as e:
            raise ConfigError(f"network {name}: subnet {subnet!r}: {e}") from None
        if wanted.prefixlen != 24:
            raise ConfigError(f"network {name}: subnet {subnet}: use a /24")
        clash = [str(u) for u in used if u.overlaps(wanted)]
        if clash:
            raise ConfigError(
                f"network {name}: subnet {subnet} overlaps {clash[0]}, which "
                "another libvirt network uses; choose another"
            )
        yield wanted
        return
    for text in _CANDIDATES:
        candidate = ipaddress.IPv4Network(text)
        if not any(u.overlaps(candidate) for u in used):
            yield candidate


def _subnets_in_use(conn: Any) -> list[ipaddress.IPv4Network]:
    libvirt = import_libvirt()
    with libvirt_errors("cannot list libvirt networks"):
        networks = conn.listAllNetworks()
    found = []
    for network in networks:
        try:
            root = ET.fromstring(network.XMLDesc(0))
        except (libvirt.libvirtError, ET.ParseError):  # vanished while we looked
            continue
        for ip in root.iter("ip"):
            address, mask = ip.get("address"), ip.get("netmask") or ip.get("prefix")
            if address and mask and ":" not in address:
                found.append(ipaddress.IPv4Network(f"{address}/{mask}", strict=False))
    return found


def _define(conn: Any, template_dir: Path, name: str, net: ipaddress.IPv4Network) -> Any:
    hosts = list(net.hosts())
    xml = render(
        template_dir,
        "network-isolated",
        name=name,
        bridge=f"virbr-{name[:9]}",
        host_address=str(hosts[0]),
        dhcp_start=str(hosts[9]),
        dhcp_end=str(hosts[min(98, len(hosts) - 1)]),
    )
    with libvirt_errors(f"libvirt rejected the definition of network {name}"):
        return conn.networkDefineXML(xml)
