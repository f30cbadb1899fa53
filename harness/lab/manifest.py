"""The sha256 of each artifact as the driver build's manifest records it.

Reads both manifests `make -C drivers` writes: drivers/dist/manifest.json (Windows images)
and drivers/dist/linux/manifest.json (the stand-in's modules): each lists its artifacts by
name with a sha256. Anything the lab loads must be listed, and must match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from harness.errors import ConfigError

__all__ = ["driver_hashes"]


class _Entry(msgspec.Struct, frozen=True):
    name: str
    sha256: str


class _Manifest(msgspec.Struct, frozen=True):
    artifacts: tuple[_Entry, ...]


def driver_hashes(dist: Path, files: list[str], source: str) -> dict[str, str]:
    """file -> sha256 for each of `files`, from dist/manifest.json."""
    path = dist / "manifest.json"
    try:
        manifest = msgspec.json.decode(path.read_bytes(), type=_Manifest)
    except OSError as e:
        raise ConfigError(
            f"{source}: field driver.dist: cannot read {path}: {e.strerror}; "
            "fix: build the driver (make -C drivers)"
        ) from None
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ConfigError(
            f"{source}: field driver.dist: {path} is not a driver manifest "
            f"({e}); fix: rebuild it with make -C drivers"
        ) from None
    by_name: dict[str, Any] = {e.name.lower(): e.sha256.lower() for e in manifest.artifacts}
    missing = [f for f in files if f.lower() not in by_name]
    if missing:
        raise ConfigError(
            f"{source}: field driver.dist: {path} lists no {', '.join(missing)}; "
            "fix: point driver.dist at the build for this guest profile"
        )
    return {f: by_name[f.lower()] for f in files}
