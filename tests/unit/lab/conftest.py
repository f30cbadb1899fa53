"""Lab config fixtures: a config directory with the files a valid config names."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def labdir(tmp_path: Path) -> Iterator[Path]:
    """A directory holding an SSH key, a pinned host key, a driver dist and a guest image
    (the image in a world-searchable directory, as the pool's image check wants)."""
    (tmp_path / "client_key").write_text("not a real key\n")
    (tmp_path / "host_key.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0 root@standin\n")
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "manifest.json").write_text('{"build_id": "x", "artifacts": []}')
    image = Path(tempfile.mkdtemp(prefix="hslab-image-"))
    image.chmod(0o755)
    for name in ("vmlinuz", "initrd.img", "disk.qcow2", "cmdline"):
        (image / name).write_text("x\n")
    (tmp_path / "image").symlink_to(image)
    yield tmp_path
    shutil.rmtree(image)


def config_text(labdir: Path, **override: str) -> str:
    """A valid linux lab config as TOML; `override` replaces whole lines by key."""
    lines = {
        "profile": 'profile = "linux"',
        "pool": f'[pool]\nimage = "{labdir / "image"}"\nname = "t"',
        "ssh": '[ssh]\nkey = "client_key"\nhost_key = "host_key.pub"',
        "driver": '[driver]\ndist = "dist"',
    }
    lines.update(override)
    return "\n".join(v for v in lines.values() if v) + "\n"
