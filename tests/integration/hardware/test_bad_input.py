"""Bad input on the hardware path, each one clear error naming the machine and the cause, with
nothing left powered or leased, and the BMC password in no message, log or report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ConfigError, GuestBootError, InfrastructureError
from harness.hardware.emulated import EmulatedRack
from harness.hardware.inventory import load_inventory
from harness.hardware.pool import HardwarePool
from harness.vm.gdbstub import free_port

from .conftest import MakeLab

pytestmark = pytest.mark.integration


def _inventory(lab: Path, kind: str) -> Path:
    return lab.parent / f"inventory-{kind}.toml"


@pytest.mark.parametrize("kind", ["redfish", "ipmi"])
def test_a_wrong_bmc_password_names_the_machine_and_never_the_password(
    rack: EmulatedRack, make_lab: MakeLab, tmp_path: Path, kind: str
) -> None:
    wrong = tmp_path / "wrong-password"
    planted = "Planted-Wr0ng-Secret"
    wrong.write_text(planted + "\n")
    lab = make_lab(kind, retries="0")
    inventory = _inventory(lab, kind)
    inventory.write_text(inventory.read_text().replace(str(rack.password_file), str(wrong)))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys; from harness.hardware.inventory import load_inventory; "
                "from harness.hardware.pool import HardwarePool; "
                "from harness.errors import HarnessError\n"
                f"pool = HardwarePool(load_inventory({str(inventory)!r}))\n"
                "try:\n    pool.lease(timeout=5).boot()\n"
                "except HarnessError as e:\n    print(type(e).__name__, e); sys.exit(e.exit_code)\n"
                "finally:\n    pool.close()\n"
            ),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr  # bad input: fix the inventory
    assert done.stdout.startswith("ConfigError") and rack.name in done.stdout
    assert "refused user 'admin' and its password" in done.stdout
    for secret in (planted, rack.password_file.read_text().strip()):
        assert secret not in done.stdout + done.stderr
    config = load_inventory(inventory)
    assert not (config.state / "hardware" / "health" / f"{rack.name}.json").exists()


def test_a_bmc_url_that_is_not_redfish_says_so(rack: EmulatedRack, make_lab: MakeLab) -> None:
    lab = make_lab("redfish", retries="0")
    inventory = _inventory(lab, "redfish")
    # the console port speaks raw bytes, not HTTP; the IPMI port is UDP; use a web page
    with _web_server(lab.parent) as port:
        text = inventory.read_text().replace(
            f"127.0.0.1:{rack.ports['redfish']}", f"127.0.0.1:{port}"
        )
        inventory.write_text(text)
        with HardwarePool(load_inventory(inventory)) as pool:
            machine = pool.lease(timeout=5)
            with pytest.raises(
                ConfigError,
                match=f"{rack.name}: the Redfish BMC at "
                r"http://127.0.0.1:\d+ is not a Redfish "
                "service",
            ):
                machine.boot()


def test_a_console_port_nobody_listens_on_names_the_machine_and_the_port(
    rack: EmulatedRack, make_lab: MakeLab
) -> None:
    lab = make_lab("redfish", console_timeout="3.0")
    inventory = _inventory(lab, "redfish")
    dead = free_port()
    inventory.write_text(
        inventory.read_text().replace(
            f"tcp://127.0.0.1:{rack.ports['console']}", f"tcp://127.0.0.1:{dead}"
        )
    )
    with HardwarePool(load_inventory(inventory)) as pool:
        machine = pool.lease(timeout=5)
        with pytest.raises(
            InfrastructureError,
            match=(
                f"{rack.name}: the console at tcp://127.0.0.1:{dead} could not be reached for "
                r"3 s after power-on \(Connection refused\)"
            ),
        ):
            machine.boot()
    assert not machine.is_running()  # released: powered off again


def test_a_machine_that_never_prints_its_marker_is_a_boot_error_and_taken_out(
    rack: EmulatedRack, make_lab: MakeLab
) -> None:
    lab = make_lab("ipmi", boot_marker='"NEVER PRINTED"', boot_timeout="20.0")
    config = load_inventory(_inventory(lab, "ipmi"))
    with HardwarePool(config) as pool:
        machine = pool.lease(timeout=5)
        with pytest.raises(
            GuestBootError,
            match=f"{rack.name} powered on .* but never printed its ready marker.*NEVER PRINTED",
        ):
            machine.boot()
        with pytest.raises(InfrastructureError, match=f"out of the pool: {rack.name} "):
            pool.lease(timeout=5)
    assert not machine.is_running()


class _web_server:
    """A plain HTTP server (python -m http.server) on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "http.server",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--directory",
                str(root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def __enter__(self) -> int:
        import socket
        import time

        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self.port
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("http.server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
