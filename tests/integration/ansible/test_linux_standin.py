"""The linux_standin role for real, through `harness lab provision` on the local inventory:
it builds the stand-in, defines a kept guest, boots it and takes `ready`; `harness vm list`
then shows the guest and its snapshot; a second run changes nothing; state=absent removes
it. The pool name is this process's own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
LOCAL = REPO / "ansible" / "inventories" / "local"


def harness(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "HARNESS_VENV": sys.prefix},
    )


def provision(pool: str, config_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return harness(
        "lab",
        "provision",
        str(LOCAL),
        "--playbook",
        "linux-standin",
        "-e",
        f"linux_standin_pool={pool}",
        "-e",
        f"linux_standin_config_dir={config_dir}",
        "-e",
        "linux_standin_accel=tcg",
        *extra,
    )


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"an{os.getpid() % 100000}"
    yield name, tmp_path
    config = tmp_path / f"{name}.toml"
    if config.exists():  # the test stopped before its own removal: remove the guest here
        from harness.provision.guest import KeptGuest
        from harness.vm.config import load_pool_config

        KeptGuest(load_pool_config(config), 0).remove()


def changed(out: str) -> int:
    found = re.search(r"localhost\s+ok=\d+ changed=(\d+) failed=0", out)
    assert found, out
    return int(found[1])


def test_standin_role_keeps_a_ready_guest(pool: tuple[str, Path]) -> None:
    name, config_dir = pool
    first = provision(name, config_dir)
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"changed\s+localhost\s+Boot each guest once", first.stdout), first.stdout

    listing = harness("vm", "list", "--pool", name)
    assert listing.returncode == 0, listing.stderr
    assert re.search(
        rf"^hs-{name}-0\toff\tpool={name}\trun=provisioned\tkept\t"
        r"snapshots=ready$",
        listing.stdout,
        re.MULTILINE,
    ), listing.stdout
    assert "image = " in (config_dir / f"{name}.toml").read_text()

    second = provision(name, config_dir)
    assert second.returncode == 0, second.stdout + second.stderr
    assert changed(second.stdout) == 0

    gone = provision(name, config_dir, "-e", "linux_standin_state=absent")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert harness("vm", "list", "--pool", name).stdout == ""
