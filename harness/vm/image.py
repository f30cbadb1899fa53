"""Guest images and each machine's private files. A machine never writes its image: it gets a
qcow2 overlay in its own directory (state_dir/machines/DOMAIN), which is where its running-
state snapshots live, so two machines of one image never touch each other's state."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import msgspec

from harness.errors import ConfigError, InfrastructureError
from harness.files import not_a_file, read_regular

__all__ = ["Image", "MachineFiles", "resolve_image"]

_QEMU_IMG_TIMEOUT = 60  # an overlay is a few hundred KiB of metadata: seconds at worst
_KERNEL_FILES = ("vmlinuz", "initrd.img", "disk.qcow2", "cmdline")
# direct-kernel-boot profiles: the files their image directory holds and the script making it
_DIRECT_BOOT = {
    "linux-testguest": (_KERNEL_FILES, "vm/testguest/build"),
    "linux-standin": ((*_KERNEL_FILES, "host_key.pub", "client_key"), "vm/standin/build"),
}


class Image(msgspec.Struct, frozen=True, kw_only=True):
    """What a profile boots: a base disk and, for direct kernel boot, kernel + initrd."""

    disk: str
    kernel: str = ""
    initrd: str = ""
    cmdline: str = ""


def resolve_image(profile: str, image: str, source: str = "pool config") -> Image:
    """The image `image` names, checked: every file exists and QEMU can reach it."""
    path = Path(image).resolve()
    if profile in _DIRECT_BOOT:
        files, build = _DIRECT_BOOT[profile]
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"{source}: field image: {path} {_what(path)}; the "
                f"{profile} profile boots a directory that {build} writes"
            )
        missing = [f for f in files if not_a_file(path / f)]
        if missing:
            raise ConfigError(
                f"{source}: field image: {path} lacks {', '.join(missing)}; "
                f"build the {profile} image there with: {build} {path}"
            )
        cmdline = read_regular(
            path / "cmdline", limit=4096, what="kernel command line", error=ConfigError
        )
        found = Image(
            disk=str(path / "disk.qcow2"),
            kernel=str(path / "vmlinuz"),
            initrd=str(path / "initrd.img"),
            cmdline=cmdline.decode("utf-8", "replace").strip(),
        )
    else:
        wrong = not_a_file(path)
        if wrong:
            raise ConfigError(
                f"{source}: field image: {path}: {wrong}; point it at the "
                "qcow2 base image of the guest"
            )
        found = Image(disk=str(path))
    _check_reachable(path if path.is_dir() else path.parent, source)
    return found


def _what(path: Path) -> str:
    return (not_a_file(path) or "is a file").replace(", not a file", "")


def _check_reachable(directory: Path, source: str) -> None:
    """libvirt runs QEMU as an unprivileged user that must traverse every parent directory
    (it relabels the files themselves, never their parents)."""
    for parent in [directory, *directory.parents]:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise ConfigError(
                f"{source}: field image: QEMU cannot reach {directory}: {parent} is not "
                "searchable by other users; put images under a world-searchable directory "
                "such as /var/lib/hotswap-harness/images"
            )


class MachineFiles:
    """The directory of one machine: overlay disk, console log, dumps."""

    def __init__(self, state_dir: Path, domain: str):
        self.dir = state_dir / "machines" / domain
        self.disk = self.dir / "disk.qcow2"
        self.console = self.dir / "console.log"

    def create(self, base: Image) -> None:
        """A fresh directory with an empty console log and an overlay over the image's disk."""
        self.remove()
        self.dir.mkdir(parents=True)
        # QEMU runs as another user: it must search down to its disk whatever our umask is
        for directory in (self.dir, self.dir.parent, self.dir.parent.parent):
            directory.chmod(directory.stat().st_mode | 0o755)
        self.console.touch()
        cmd = [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            base.disk,
            str(self.disk),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, check=False, timeout=_QEMU_IMG_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise InfrastructureError(
                f"qemu-img did not create {self.disk} within "
                f"{_QEMU_IMG_TIMEOUT} s; is the disk hung?"
            ) from None
        except FileNotFoundError:
            raise InfrastructureError("qemu-img is not installed; run scripts/setup-host") from None
        if done.returncode != 0:
            raise InfrastructureError(
                f"cannot create the overlay disk {self.disk}: {done.stderr.strip()}"
            )

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
