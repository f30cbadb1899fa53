"""Domain and network templates: valid libvirt XML (by libvirt's own virt-xml-validate), the
features each profile promises, and one clear error for a broken template."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.vm.config import DEFAULT_TEMPLATE_DIR
from harness.vm.template import render
from tests.unit.vm.conftest import Context


def validate(tmp_path: Path, xml: str, kind: str) -> None:
    tool = shutil.which("virt-xml-validate")
    assert tool, "virt-xml-validate is missing: run scripts/setup-host"
    path = tmp_path / f"{kind}.xml"
    path.write_text(xml)
    done = subprocess.run([tool, str(path), kind], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr + done.stdout


@pytest.mark.parametrize(
    ("gdb_port", "uuid"), [(None, None), (40123, "c0fb97f2-4e1c-42c0-9715-7e13b0b304f0")]
)
def test_linux_testguest_is_valid_and_boots_the_kernel(
    tmp_path: Path, context: Context, gdb_port: int | None, uuid: str | None
) -> None:
    xml = render(DEFAULT_TEMPLATE_DIR, "linux-testguest", **context(gdb_port=gdb_port, uuid=uuid))
    validate(tmp_path, xml, "domain")
    root = ET.fromstring(xml)
    assert root.get("type") == "qemu"
    assert root.findtext("uuid") == uuid  # a redefinition keeps the domain's identity
    assert root.findtext("os/kernel") == "/k"
    assert root.findtext("os/cmdline") == "console=ttyS0 a&b"  # escaped, then parsed back
    serial = root.find("devices/serial/source")
    assert serial is not None and serial.get("append") == "on"
    args = [a.get("value") for a in root.iter("{http://libvirt.org/schemas/domain/qemu/1.0}arg")]
    assert args == ([] if gdb_port is None else ["-gdb", "tcp:127.0.0.1:40123"])


@pytest.mark.parametrize("gdb_port", [None, 40123])
def test_linux_standin_adds_a_user_nic_pvpanic_pci_and_keeps_a_crash(
    tmp_path: Path, context: Context, gdb_port: int | None
) -> None:
    xml = render(DEFAULT_TEMPLATE_DIR, "linux-standin", **context(gdb_port=gdb_port))
    validate(tmp_path, xml, "domain")
    root = ET.fromstring(xml)
    assert root.findtext("os/kernel") == "/k"  # the test guest's machine underneath
    assert root.findtext("on_crash") == "preserve"
    nic = root.find("devices/interface")
    assert nic is not None and nic.get("type") == "user"
    assert nic.find("model").get("type") == "virtio"  # type: ignore[union-attr]
    assert root.find("devices/rng/backend").text == "/dev/urandom"  # type: ignore[union-attr]
    args = [a.get("value") for a in root.iter("{http://libvirt.org/schemas/domain/qemu/1.0}arg")]
    gdb = [] if gdb_port is None else ["-gdb", "tcp:127.0.0.1:40123"]
    assert args == [*gdb, "-device", "pvpanic-pci,addr=0x1f"]


def test_windows11_has_every_feature_the_profile_promises(tmp_path: Path, context: Context) -> None:
    xml = render(DEFAULT_TEMPLATE_DIR, "windows11", **context(domain_type="kvm"))
    validate(tmp_path, xml, "domain")
    root = ET.fromstring(xml)
    assert root.find("os/type").get("machine") == "q35"  # type: ignore[union-attr]
    loader = root.find("os/loader")
    assert loader is not None and loader.get("secure") == "yes"
    assert root.find("features/smm").get("state") == "on"  # type: ignore[union-attr]
    assert root.find("devices/tpm/backend").get("version") == "2.0"  # type: ignore[union-attr]
    assert root.find("features/vmcoreinfo").get("state") == "on"  # type: ignore[union-attr]
    vendor = root.find("features/hyperv/vendor_id")
    assert vendor is not None and vendor.get("value") == "KVMKVMKVM"
    assert root.find("cpu/feature[@name='vmx']") is not None
    nics = {
        (n.find("source").get("network"), n.find("model").get("type"))  # type: ignore[union-attr]
        for n in root.findall("devices/interface")
    }
    assert nics == {("default", "virtio"), ("hs-kdnet", "e1000e")}
    assert root.find("devices/disk/target").get("bus") == "virtio"  # type: ignore[union-attr]


def test_isolated_network_is_valid_and_has_no_forward(tmp_path: Path) -> None:
    xml = render(
        DEFAULT_TEMPLATE_DIR,
        "network-isolated",
        name="hs-kdnet",
        bridge="virbr-hsk",
        host_address="192.168.251.1",
        dhcp_start="192.168.251.10",
        dhcp_end="192.168.251.99",
    )
    validate(tmp_path, xml, "network")
    assert ET.fromstring(xml).find("forward") is None


def test_a_syntax_error_names_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.xml.j2").write_text("<domain>\n  {% if name %}\n</domain>\n")
    with pytest.raises(ConfigError, match=r"broken\.xml\.j2:\d+: .*fix the template"):
        render(tmp_path, "broken", name="x")


def test_an_undefined_variable_is_named(tmp_path: Path) -> None:
    (tmp_path / "t.xml.j2").write_text("<domain><name>{{ nmae }}</name></domain>\n")
    with pytest.raises(ConfigError, match="'nmae' is undefined"):
        render(tmp_path, "t", name="x")


def test_an_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="linux-testguest, network-isolated, windows11"):
        render(DEFAULT_TEMPLATE_DIR, "windows95")
