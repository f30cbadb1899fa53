"""What a domain template is rendered with, as the pool passes it; fake images."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.vm.image import Image
from harness.vm.metadata import Owner

Context = Callable[..., dict[str, Any]]


@pytest.fixture
def context(tmp_path: Path) -> Context:
    def make(**overrides: Any) -> dict[str, Any]:
        work = tmp_path / "machines" / "hs-t-0"
        values: dict[str, Any] = {
            "name": "hs-t-0",
            "uuid": None,
            "metadata": Owner.current("t", work, run_id="r1"),
            "image": Image(
                disk=str(tmp_path / "disk.qcow2"),
                kernel="/k",
                initrd="/i",
                cmdline="console=ttyS0 a&b",
            ),
            "domain_type": "qemu",
            "memory_mib": 256,
            "vcpus": 1,
            "emulator": "/usr/bin/qemu-system-x86_64",
            "disk": work / "disk.qcow2",
            "console_log": work / "console.log",
            "workdir": work,
            "gdb_port": None,
            "network": "default",
            "kdnet_network": "hs-kdnet",
            "hv_vendor_id": "KVMKVMKVM",
            "ovmf_code": "/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
            "ovmf_vars": "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
        }
        values.update(overrides)
        return values

    return make


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every parent of which QEMU's user may search (pytest's tmp_path is 0700)."""
    where = Path(tempfile.mkdtemp(prefix="hs-image-test-", dir="/tmp"))
    where.chmod(0o755)
    yield where
    shutil.rmtree(where, ignore_errors=True)


def make_testguest(where: Path) -> Path:
    where.mkdir(parents=True, mode=0o755)
    for name in ("vmlinuz", "initrd.img", "disk.qcow2"):
        (where / name).write_bytes(b"x")
    (where / "cmdline").write_text("console=ttyS0\n")
    return where
