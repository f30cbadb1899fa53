"""The Windows images load wherever Windows 11 runs (issue: kernels without DriverProxy) and
are safe to leave loaded: what can be seen of that in the built images and their source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.driver.inspection import inspect_image

from .conftest import DRIVERS

PROXY = (
    "IoGetDriverProxyFeatures",
    "IoCreateDriverProxyExtension",
    "IoGetDriverProxyExtensionFromDriverObject",
    "IoRegisterDriverProxyEndpoints",
    "IoGetDriverProxyEndpointWrapper",
    "IoDriverProxyCreateHotSwappableWorkerThread",
)


@pytest.mark.parametrize("image", ["hsprobe.sys", "hsprobe2.sys"])
def test_driverproxy_is_looked_up_at_run_time_not_imported(dist: Path, image: str) -> None:
    kernel = inspect_image(dist / image).imports["ntoskrnl.exe"]
    assert "MmGetSystemRoutineAddress" in kernel
    assert not set(PROXY) & set(kernel)  # a static import would stop the load on 23H2
    data = (dist / image).read_bytes()
    for name in PROXY:
        assert name.encode("utf-16-le") + b"\0\0" in data
    # interrupt time beside system time; the device's DACL set by hand (no wdmsec.lib here)
    assert {
        "KeQueryInterruptTimePrecise",
        "KeQuerySystemTimePrecise",
        "ObSetSecurityObjectByPointer",
        "RtlAddAccessAllowedAce",
    } <= set(kernel)


def test_every_thread_reference_is_checked() -> None:
    # an unchecked ObReferenceObjectByHandle lets a thread outlive the image it runs
    for path in (DRIVERS / "hsprobe").rglob("*.c"):
        for line in path.read_text().splitlines():
            if "ObReferenceObjectByHandle(" in line:
                assert re.search(r"(=|\(|return)\s*ObReferenceObjectByHandle\(", line), (
                    f"{path.name}: {line.strip()}"
                )
