"""Real libvirtd + QEMU for the VM tests: the project's own set-up step starts the daemons,
the test guest is staged where QEMU's user can read it, and every pool a test opens is
closed (domains destroyed and undefined) whatever the test does."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.vm.config import DEFAULT_STATE_DIR, PoolConfig, parse_pool_config

REPO = Path(__file__).resolve().parents[3]
IMAGE = DEFAULT_STATE_DIR / "images" / "testguest"
_names = itertools.count()

MakeConfig = Callable[..., PoolConfig]


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr}{done.stdout}"
    return done.stdout


@pytest.fixture(scope="session")
def libvirtd() -> None:
    """libvirtd and virtlogd running (the step `make test` runs, here for a lone pytest)."""
    done = subprocess.run(
        [str(REPO / "scripts/setup-host"), "--services"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "VENV": sys.prefix},
    )
    assert done.returncode == 0, f"scripts/setup-host --services failed:\n{done.stdout}"


@pytest.fixture(scope="session")
def testguest() -> Path:
    """The test guest, copied from its build cache to a directory QEMU's user can reach."""
    built = Path(_run([str(REPO / "vm/testguest/build")]).strip())
    IMAGE.mkdir(parents=True, exist_ok=True)
    for parent in (IMAGE, *IMAGE.parents[:2]):
        parent.chmod(0o755)
    for name in ("vmlinuz", "initrd.img", "disk.qcow2", "cmdline"):
        source, target = built / name, IMAGE / name
        if not target.exists() or source.stat().st_mtime > target.stat().st_mtime:
            shutil.copy2(source, target)
    return IMAGE


def unique_name(tag: str) -> str:
    """A pool name no other test (or concurrent session) uses: domains are hs-NAME-SLOT."""
    return f"t{os.getpid() % 100000}{tag}{next(_names)}"[:20]


@pytest.fixture
def make_config(libvirtd: None, testguest: Path) -> MakeConfig:
    def make(tag: str = "", **fields: Any) -> PoolConfig:
        data = {"image": str(testguest), "name": unique_name(tag), "boot_timeout": 600.0}
        return parse_pool_config({**data, **fields}, "test")

    return make


def harness_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run `harness ARGS` as a user would, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def domain_names(prefix: str) -> list[str]:
    """Names of libvirt domains (any state) starting with `prefix`."""
    out = _run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"])
    return [n for n in out.split() if n.startswith(prefix)]


@pytest.fixture(scope="module")
def booted(libvirtd: None, testguest: Path) -> Iterator[Any]:
    """One booted test guest shared by a module's tests (a boot costs ~10 s under TCG)."""
    from harness.vm.libvirt import LibvirtPool

    config = parse_pool_config(
        {"image": str(testguest), "name": unique_name("m"), "boot_timeout": 600.0}, "test"
    )
    with LibvirtPool(config) as pool:
        machine = pool.lease()
        machine.boot()
        yield machine
