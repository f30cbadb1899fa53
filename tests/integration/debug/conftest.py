"""Fixtures: one booted test guest per module (boots cost ~15 s under TCG), the kernel ELF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .guest import QemuGuest, guest_dir, kernel_elf
from .sshd import Sshd


@pytest.fixture(scope="session")
def testguest() -> Path:
    return guest_dir()


@pytest.fixture(scope="module")
def qemu(testguest: Path) -> Iterator[QemuGuest]:
    with QemuGuest(testguest) as guest:
        yield guest


@pytest.fixture(scope="session")
def vmlinux(testguest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kernel_elf(testguest / "vmlinuz", tmp_path_factory.mktemp("kernel") / "vmlinux")


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    with Sshd() as server:
        yield server
