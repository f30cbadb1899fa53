"""Images: what is missing or unreachable is named with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.vm.image import resolve_image
from tests.unit.vm.conftest import make_testguest


def test_a_complete_testguest_resolves(open_dir: Path) -> None:
    image = resolve_image("linux-testguest", str(make_testguest(open_dir / "tg")))
    assert image.cmdline == "console=ttyS0"
    assert image.disk.endswith("tg/disk.qcow2")


def test_missing_files_are_named_with_the_build_command(tmp_path: Path) -> None:
    where = make_testguest(tmp_path / "tg")
    (where / "initrd.img").unlink()
    with pytest.raises(
        ConfigError,
        match=r"lacks initrd.img; build the linux-testguest "
        r"image there with: vm/testguest/build",
    ):
        resolve_image("linux-testguest", str(where))


def test_a_standin_image_needs_its_ssh_keys(open_dir: Path) -> None:
    where = make_testguest(open_dir / "si")
    with pytest.raises(
        ConfigError,
        match=r"lacks host_key.pub, client_key; build the "
        r"linux-standin image there with: vm/standin/build",
    ):
        resolve_image("linux-standin", str(where))
    (where / "host_key.pub").write_text("ssh-ed25519 AAAA standin\n")
    (where / "client_key").write_text("private\n")
    assert resolve_image("linux-standin", str(where)).kernel.endswith("si/vmlinuz")


def test_a_missing_windows_disk_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"field image: .*win11.qcow2: no such file; point"):
        resolve_image("windows11", str(tmp_path / "win11.qcow2"))


def test_a_directory_qemu_cannot_traverse_is_refused(open_dir: Path) -> None:
    private = open_dir / "private"
    make_testguest(private / "tg")
    private.chmod(0o700)
    with pytest.raises(ConfigError, match=r"private is not searchable by other users"):
        resolve_image("linux-testguest", str(private / "tg"))
