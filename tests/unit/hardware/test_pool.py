"""Leases and health records of the hardware pool (no BMC is called to lease)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import HarnessTimeoutError, InfrastructureError
from harness.hardware import health
from harness.hardware.inventory import parse_inventory
from harness.hardware.pool import HardwarePool
from harness.lab.reset import BootGroup
from harness.vm import Endpoint, Health, Machine, Resets, Snapshots, open_pool


@pytest.fixture
def config(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "k.pub").write_text("ssh-ed25519 AAAA k\n")
    machines = [
        {
            "name": n,
            "console": f"tcp://cons:{7000 + i}",
            "ssh": {"host": f"{n}.lab", "host_key": "k.pub"},
            "bmc": {"kind": "ipmi", "url": f"ipmi://{n}-bmc", "user": "u", "password_env": "P"},
        }
        for i, n in enumerate(("m1", "m2"))
    ]
    return parse_inventory(
        {"name": "r", "state_dir": str(tmp_path / "state"), "machine": machines},
        "rack.toml",
        tmp_path,
    )


def test_leases_are_exclusive_and_healthy_machines_only(config) -> None:  # type: ignore[no-untyped-def]
    with open_pool(config) as pool:
        assert isinstance(pool, HardwarePool)
        first = pool.lease(timeout=1)
        assert isinstance(first, Machine) and isinstance(first, Resets)
        assert isinstance(first, Health) and isinstance(first, Endpoint)
        assert not isinstance(first, Snapshots)
        assert first.ssh_endpoint()[:2] == ("m1.lab", 22)
        first.retire("did not come back")
        second = pool.lease(timeout=1)
        assert second.name == "m2"
        # another process cannot take m2 while we hold it, nor m1 which is out
        code = (
            "import sys, msgspec; from harness.hardware.pool import HardwarePool; "
            "from harness.hardware.inventory import HardwarePoolConfig as C; "
            "c = msgspec.json.decode(sys.stdin.buffer.read(), type=C)\n"
            "try:\n    HardwarePool(c).lease(timeout=0.5)\n"
            "except Exception as e:\n    print(type(e).__name__)\n"
        )
        import msgspec

        done = subprocess.run(
            [sys.executable, "-c", code],
            input=msgspec.json.encode(config),
            capture_output=True,
            check=True,
        )
        assert done.stdout.decode().strip() == "HarnessTimeoutError"
        second.retire("wrong build")
    with pytest.raises(
        InfrastructureError,
        match=r"pool r: every machine is out of the pool: "
        r"m1 \(did not come back, since .*\); m2 "
        r"\(wrong build",
    ):
        HardwarePool(config).lease(timeout=5)
    (health.retired_dir(config.state) / "m2.json").unlink()
    with HardwarePool(config) as pool:
        assert pool.lease(timeout=1).name == "m2"
        with pytest.raises(HarnessTimeoutError, match="every healthy machine stayed leased"):
            pool.lease(timeout=0.3)


def test_a_boot_group_resets_every_n_and_at_once_after_a_failure() -> None:
    group = BootGroup(3)
    runs = []
    for failed in (False, False, False, False, True, False):
        if group.due():
            group.fresh()
            runs.append("boot")
        group.count += 1
        runs.append("run")
        group.dirty = group.dirty or failed
    assert runs == ["run", "run", "run", "boot", "run", "run", "boot", "run"]
