"""The INF files and MSBuild projects name the same images, services and versions as make."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from harness.driver.artifact import MODULE_FILES

from .conftest import DRIVERS

NS = {"m": "http://schemas.microsoft.com/developer/msbuild/2003"}


@pytest.mark.parametrize("version", sorted(MODULE_FILES))
def test_inf_installs_the_image_as_a_kernel_service(version: int) -> None:
    name = MODULE_FILES[version].removesuffix(".sys")
    inf = (DRIVERS / "inf" / f"{name}.inf").read_text()
    assert re.search(rf"^AddService = {name}, , Hsp.Service$", inf, re.M)
    assert re.search(rf"^ServiceBinary = %13%\\{name}\.sys$", inf, re.M)
    assert re.search(r"^ServiceType\s+= 1 ", inf, re.M)  # SERVICE_KERNEL_DRIVER
    assert re.search(rf"^DriverVer\s+= [\d/]+,1\.0\.0\.{version}$", inf, re.M)


@pytest.mark.parametrize("version", sorted(MODULE_FILES))
def test_msbuild_project_builds_that_version(version: int) -> None:
    name = MODULE_FILES[version].removesuffix(".sys")
    root = ET.parse(DRIVERS / "msbuild" / f"{name}.vcxproj").getroot()
    assert root.findtext("m:PropertyGroup/m:HsprobeVersion", namespaces=NS) == str(version)
    assert root.findtext("m:PropertyGroup/m:TargetName", namespaces=NS) == name
    props = ET.parse(DRIVERS / "msbuild" / "hsprobe.props").getroot()
    defines = " ".join(e.text or "" for e in props.iter(f"{{{NS['m']}}}PreprocessorDefinitions"))
    assert "HSPROBE_VERSION=$(HsprobeVersion)" in defines
