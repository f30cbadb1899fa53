"""A new isolated network gets a /24 no other libvirt network uses (libvirt refuses to start
one whose subnet is taken); a subnet named by the caller that clashes is a ConfigError."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.vm.network import _candidates


class FakeNetwork:
    """Stands for a libvirt network object: only its XML is read."""

    def __init__(self, address: str, mask: str = "255.255.255.0"):
        self.xml = f"<network><ip address='{address}' netmask='{mask}'/></network>"

    def XMLDesc(self, _flags: int) -> str:
        return self.xml


class FakeConn:
    def __init__(self, *networks: FakeNetwork):
        self.networks = list(networks)

    def listAllNetworks(self) -> list[FakeNetwork]:
        return self.networks


def test_the_first_free_subnet_is_chosen() -> None:
    conn = FakeConn(
        FakeNetwork("192.168.251.1"), FakeNetwork("192.168.250.1"), FakeNetwork("192.168.122.1")
    )
    assert str(next(_candidates(conn, "n", None))) == "192.168.249.0/24"
    assert str(next(_candidates(FakeConn(), "n", None))) == "192.168.251.0/24"


def test_a_wider_network_covers_several_candidates() -> None:
    conn = FakeConn(FakeNetwork("192.168.248.1", "255.255.248.0"))  # 192.168.248.0/21
    assert str(next(_candidates(conn, "n", None))) == "192.168.247.0/24"


@pytest.mark.parametrize(
    ("subnet", "says"),
    [
        ("192.168.251.0/24", "overlaps 192.168.251.0/24"),
        ("10.0.0.0/16", "use a /24"),
        ("300.1.1.0/24", "subnet '300.1.1.0/24'"),
    ],
)
def test_a_named_subnet_that_cannot_be_used_is_refused(subnet: str, says: str) -> None:
    conn = FakeConn(FakeNetwork("192.168.251.1"))
    with pytest.raises(ConfigError, match=says):
        list(_candidates(conn, "n", subnet))
