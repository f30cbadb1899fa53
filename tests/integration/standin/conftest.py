"""One booted stand-in guest per session, shared by every test here: booting costs a few
seconds under TCG, a revert to its `booted` snapshot a tenth of one. Every test starts from
a snapshot; the pool releases the machine at the end whatever happened."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.vm.config import parse_pool_config
from tests.integration.vm.conftest import libvirtd  # noqa: F401  (fixture)

from .guest import Guest, build_image

_names = itertools.count()


def pool_name(tag: str) -> str:
    """A pool name no other test (or concurrent session) uses: domains are hs-NAME-SLOT."""
    return f"s{os.getpid() % 100000}{tag}{next(_names)}"[:20]


@pytest.fixture(scope="session")
def standin_image() -> Path:
    return build_image()


@pytest.fixture(scope="session")
def standin(
    libvirtd: None,  # noqa: F811
    standin_image: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Guest]:
    """The booted guest, snapshot `booted` taken (nothing of ours loaded yet)."""
    from harness.vm.libvirt import LibvirtPool

    config = parse_pool_config(
        {
            "image": str(standin_image),
            "name": pool_name("g"),
            "profile": "linux-standin",
            "boot_timeout": 600.0,
        },
        "test",
    )
    with LibvirtPool(config) as pool:
        machine = pool.lease()
        machine.boot()
        guest = Guest(machine, standin_image, tmp_path_factory.mktemp("standin"))
        guest.snapshot("booted")
        try:
            yield guest
        finally:
            guest.disconnect()


@pytest.fixture
def booted(standin: Guest) -> Guest:
    """The shared guest, back at `booted`."""
    standin.revert("booted")
    return standin
