"""Host forwards into a guest on QEMU user-mode networking: a loopback port, picked free at
run time (never fixed, so concurrent machines never collide), that QEMU's slirp connects to a
port of the guest, added to the running QEMU with HMP `hostfwd_add`. This is how the harness
reaches a guest's SSH server without a bridge, DHCP server or firewall rule on the host."""

from __future__ import annotations

from typing import Any

from harness.errors import InfrastructureError
from harness.vm.gdbstub import HOST, free_port
from harness.vm.monitor import hmp

__all__ = ["NETDEV", "add_forward"]

#: libvirt's id for the netdev of a domain's first <interface>: where the forwards go
NETDEV = "hostnet0"
_ATTEMPTS = 3


def add_forward(domain: Any, guest_port: int, machine: str) -> tuple[str, int]:
    """Forward a free loopback TCP port to `guest_port` in the running `domain`."""
    # a free port can be taken between our probe and QEMU's bind: try a few
    for attempt in range(_ATTEMPTS):
        chosen = free_port()
        try:
            hmp(domain, f"hostfwd_add {NETDEV} tcp:{HOST}:{chosen}-:{guest_port}", machine)
            return HOST, chosen
        except InfrastructureError as e:
            if attempt == _ATTEMPTS - 1:
                raise InfrastructureError(
                    f"{e}; does the profile give {machine} a user-mode <interface> "
                    "(QEMU netdev hostnet0)?"
                ) from None
    raise AssertionError("unreachable")
