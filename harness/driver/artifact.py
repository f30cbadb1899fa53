"""The driver build as data: the manifest `make -C drivers` writes and the files it names.

drivers/dist/manifest.json lists each artifact with its image version and sha256 under one
build id; results are keyed by that id and hash, and a lab run copies exactly these files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

import msgspec

from harness.errors import InputError

__all__ = ["MODULE_FILES", "DriverBuild", "Manifest", "ManifestEntry", "load_manifest", "sha256"]

MANIFEST_NAME: Final = "manifest.json"
#: image version -> file name; the module names follow (hsprobe, hsprobe2)
MODULE_FILES: Final = {1: "hsprobe.sys", 2: "hsprobe2.sys"}
TOOL_FILE: Final = "hsprobectl.exe"


class ManifestEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One built file."""

    name: str
    version: int
    """Image version (1, 2); 0 for the control tool."""
    sha256: str
    size: int = 0


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """drivers/dist/manifest.json."""

    format: int = 1
    build_id: str
    """Git commit (with -dirty) and a hash of the sources: equal for equal sources."""
    toolchain: str = "unknown"
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
        raise InputError(f"cannot read the manifest ({e.strerror}); run `make -C drivers`",
                         path=str(path)) from None
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as e:
        raise InputError(f"not a driver manifest ({e}); rebuild it with `make -C drivers`",
                         path=str(path)) from None


class DriverBuild(msgspec.Struct, frozen=True, kw_only=True):
    """A dist directory: both images, the control tool and their manifest."""

    root: str
    manifest: Manifest

    @classmethod
    def load(cls, root: Path) -> DriverBuild:
        return cls(root=str(root), manifest=load_manifest(root / MANIFEST_NAME))

    def image(self, version: int) -> Path:
        """Path of image `version` (1 or 2)."""
        return Path(self.root) / MODULE_FILES[version]

    @property
    def tool(self) -> Path:
        return Path(self.root) / TOOL_FILE
