"""The emulated rack machine: the stand-in image booted as a libvirt domain with no snapshots,
behind sushy-tools' Redfish emulator and virtualbmc's IPMI, its console a TCP port; one per
test session (harness.hardware.emulated), and lab configs that lease it through either BMC."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.hardware.emulated import EmulatedRack
from harness.lab.session import close_sessions

from ..lab.conftest import DIST, standin_image

__all__ = ["MakeLab", "standin_image"]

MakeLab = Callable[..., Path]


@pytest.fixture(scope="session")
def rack(standin_image: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedRack]:
    rack = EmulatedRack(
        tmp_path_factory.mktemp("rack"), name=f"hw{os.getpid() % 100000}", image=str(standin_image)
    )
    rack.up()
    try:
        yield rack
    finally:
        close_sessions()
        rack.down()


@pytest.fixture
def make_lab(rack: EmulatedRack, tmp_path: Path) -> Iterator[MakeLab]:
    """A lab config leasing the rack's machine through `kind` (redfish or ipmi); `every` is
    the reset policy's scenarios per boot; `inventory` replaces lines of the inventory."""

    def make(kind: str, *, every: int = 1, **inventory: str) -> Path:
        text = rack.inventory(kind).read_text().replace("every = 1", f"every = {every}")
        for key, value in inventory.items():
            lines = [
                f"{key} = {value}" if line.startswith(f"{key} = ") else line
                for line in text.splitlines()
            ]
            text = "\n".join(lines) + "\n"
        (tmp_path / f"inventory-{kind}.toml").write_text(text)
        lab = tmp_path / f"lab-{kind}.toml"
        lab.write_text(f"""profile = "linux"
convention = "documented"
hardware = "inventory-{kind}.toml"
guest_image = "{rack.image_dir}"

[driver]
dist = "{DIST}"

[timeouts]
command = 30.0
ready = 120.0
""")
        return lab

    yield make
    close_sessions()  # power the machine off and free its lease for the next test
    shutil.rmtree(rack.dir / "state" / "hardware" / "health", ignore_errors=True)
