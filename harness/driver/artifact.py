"""The driver build as data: the manifest `make -C drivers` writes and the files it names.

drivers/dist/manifest.json lists each artifact with its image version and sha256 under one
build id; results are keyed by that id and hash, and a lab run copies exactly these files.
The Linux stand-in's build (`make -C drivers linux`, drivers/dist/linux/manifest.json) also
names the kernel release its modules are for, and each module's vermagic.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

import msgspec

from harness.errors import InputError

__all__ = [
    "LINUX_MODULE_FILES",
    "MODULE_FILES",
    "DriverBuild",
    "Manifest",
    "ManifestEntry",
    "load_manifest",
    "sha256",
]

MANIFEST_NAME: Final = "manifest.json"
#: image version -> file name; the module names follow (hsprobe, hsprobe2)
MODULE_FILES: Final = {1: "hsprobe.sys", 2: "hsprobe2.sys"}
TOOL_FILE: Final = "hsprobectl.exe"
#: the Linux stand-in: image version -> module, 0 for hsproxy.ko (the contract itself)
LINUX_MODULE_FILES: Final = {0: "hsproxy.ko", 1: "hsprobe.ko", 2: "hsprobe2.ko"}
LINUX_TOOL_FILE: Final = "hsprobectl"


class ManifestEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One built file."""

    name: str
    version: int
    """Image version (1, 2); 0 for the control tool."""
    sha256: str
    size: int = 0
    vermagic: str | None = None
    """Linux modules: the kernel they were built for, as `modinfo -F vermagic` prints it."""


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """drivers/dist/manifest.json."""

    format: int = 1
    build_id: str
    """Git commit (with -dirty) and a hash of the sources: equal for equal sources."""
    toolchain: str = "unknown"
    kernel: str | None = None
    """Linux builds: the kernel release the modules are for; None for the Windows build."""
    artifacts: tuple[ManifestEntry, ...] = ()

    def entry(self, name: str) -> ManifestEntry | None:
        """The entry for file `name` (case-insensitive, as Windows names are)."""
        for item in self.artifacts:
            if item.name.lower() == name.lower():
                return item
        return None


_decoder = msgspec.json.Decoder(Manifest)


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_manifest(path: Path) -> Manifest:
    """Parse a manifest; InputError names the file and what is wrong."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(
            f"cannot read the manifest ({e.strerror}); run `make -C drivers`", path=str(path)
        ) from None
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as e:
        raise InputError(
            f"not a driver manifest ({e}); rebuild it with `make -C drivers`", path=str(path)
        ) from None


class DriverBuild(msgspec.Struct, frozen=True, kw_only=True):
    """A dist directory: both images, the control tool and their manifest (Windows), or the
    stand-in's modules, tool and manifest (Linux: the manifest names a kernel)."""

    root: str
    manifest: Manifest

    @classmethod
    def load(cls, root: Path) -> DriverBuild:
        return cls(root=str(root), manifest=load_manifest(root / MANIFEST_NAME))

    @property
    def linux(self) -> bool:
        return self.manifest.kernel is not None

    def image(self, version: int) -> Path:
        """Path of image `version` (1 or 2; on Linux 0 is hsproxy.ko)."""
        files = LINUX_MODULE_FILES if self.linux else MODULE_FILES
        return Path(self.root) / files[version]

    @property
    def tool(self) -> Path:
        return Path(self.root) / (LINUX_TOOL_FILE if self.linux else TOOL_FILE)

    def check_kernel(self, release: str) -> None:
        """InputError unless this is a Linux build whose every module is for kernel `release`
        (what `uname -r` prints in the guest): a module built for another kernel won't load."""
        if not self.linux:
            raise InputError(
                f"a Windows driver build cannot run on Linux kernel {release}; "
                "build the stand-in with `make -C drivers linux`",
                path=self.root,
            )
        for entry in self.manifest.artifacts:
            built_for = (entry.vermagic or "").split(" ", 1)[0]
            if entry.name.endswith(".ko") and built_for != release:
                raise InputError(
                    f"{entry.name} is built for kernel {built_for or 'unknown'}, the guest runs "
                    f"{release}: rebuild with `make -C drivers linux KRELEASE={release}` (needs "
                    f"linux-headers-{release})",
                    path=self.root,
                )
