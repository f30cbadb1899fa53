"""Isolated libvirt networks (no forwarding: host and guests only), such as the one KDNET
uses. Defined from vm/templates/network-isolated.xml.j2 when missing, started when inactive;
shared by every machine that names it, so never removed by a run."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.vm.connection import import_libvirt, libvirt_errors
from harness.vm.template import render

__all__ = ["ensure_isolated_network"]


def ensure_isolated_network(conn: Any, template_dir: Path, name: str,
                            subnet: str = "192.168.251.0/24") -> Any:
    """The active isolated network `name` (host at the subnet's first address)."""
    libvirt = import_libvirt()
    try:
        network = conn.networkLookupByName(name)
    except libvirt.libvirtError:
        network = None
    if network is None:
        try:
            net = ipaddress.ip_network(subnet)
        except ValueError as e:
            raise ConfigError(f"network {name}: subnet {subnet!r}: {e}") from None
        hosts = list(net.hosts())
        xml = render(template_dir, "network-isolated", name=name,
                     bridge=f"virbr-{name[:9]}", host_address=str(hosts[0]),
                     dhcp_start=str(hosts[9]), dhcp_end=str(hosts[min(98, len(hosts) - 1)]))
        with libvirt_errors(f"libvirt rejected the definition of network {name}"):
            network = conn.networkDefineXML(xml)
    if not network.isActive():
        with libvirt_errors(f"cannot start network {name}"):
            network.create()
    return network
