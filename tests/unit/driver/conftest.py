"""Fixtures for the driver tests: the builds they inspect, made once per session.

The build runs here (make is incremental, so this is quick when nothing changed). A missing
toolchain fails the tests with the command that installs it: nothing is skipped silently.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DRIVERS = Path(__file__).resolve().parents[3] / "drivers"
GOLDEN = Path(__file__).resolve().parent / "golden"
TOOLS = ("make", "gcc", "x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-dlltool", "cppcheck")
LINUX_TOOLS = ("make", "gcc", "modinfo")


def make(*targets: str) -> subprocess.CompletedProcess[str]:
    """Run make in drivers/; fail the test with make's own output when it fails."""
    # the lists of the ansible role `hypervisor` that install them
    tools, step = (
        (LINUX_TOOLS, "hypervisor_packages_standin")
        if "linux" in targets
        else (TOOLS, "hypervisor_packages_driver")
    )
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not installed ({step}): run "
            "`scripts/setup-host` (make test does it)",
            pytrace=False,
        )
    proc = subprocess.run(
        ["make", "-C", str(DRIVERS), *targets], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"make -C drivers {' '.join(targets)} failed:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}",
            pytrace=False,
        )
    return proc


@pytest.fixture(scope="session")
def dist() -> Path:
    """drivers/dist with both images, the tool and the manifest, freshly built."""
    make("all")
    return DRIVERS / "dist"


@pytest.fixture(scope="session")
def linux_dist() -> Path:
    """drivers/dist/linux: the stand-in's modules, its hsprobectl and their manifest."""
    make("linux")
    return DRIVERS / "dist" / "linux"


@pytest.fixture(scope="session")
def host_tools() -> Path:
    """drivers/build with the host programs (telemetry-writer, options-probe)."""
    make("host")
    return DRIVERS / "build"
