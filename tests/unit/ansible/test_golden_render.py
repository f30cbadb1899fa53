"""The windows_golden role's set-up disc, rendered by the role itself (tag render) from a
sample lab with Vault-encrypted secrets, and checked: autounattend.xml well-formed with the
passes and settings the role promises; the set-up script running every command of the role's
one list (vars/main/commands.yml), in order; that list holding the settings docs/lab.md
promises; no secret in Ansible's output."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.ansible.conftest import ADMIN_PASSWORD, ANSIBLE, KDNET_KEY, SampleLab

NS = {"u": "urn:schemas-microsoft-com:unattend"}
COMMANDS = ANSIBLE / "roles" / "windows_golden" / "vars" / "main" / "commands.yml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleLab, str]:
    lab = SampleLab(tmp_path_factory.mktemp("golden"))
    done = lab.render("-e", "windows_golden_product_key=VK7JG-NPHTM-C97JM-9MPGT-3V66T")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    return lab, done.stdout + done.stderr


def component(root: ET.Element, npass: str, name: str) -> ET.Element:
    found = root.find(f"u:settings[@pass='{npass}']/u:component[@name='{name}']", NS)
    assert found is not None, f"{npass}/{name} missing"
    return found


def text(node: ET.Element, path: str) -> str:
    found = node.find(path, NS)
    assert found is not None and found.text is not None, path
    return found.text


def test_autounattend_is_well_formed_with_the_three_passes(rendered: tuple[SampleLab, str]) -> None:
    root = ET.parse(rendered[0].media / "autounattend.xml").getroot()
    assert [s.get("pass") for s in root.findall("u:settings", NS)] == [
        "windowsPE",
        "specialize",
        "oobeSystem",
    ]


def test_windows_pe_partitions_installs_the_edition_and_loads_virtio(
    rendered: tuple[SampleLab, str],
) -> None:
    root = ET.parse(rendered[0].media / "autounattend.xml").getroot()
    setup = component(root, "windowsPE", "Microsoft-Windows-Setup")
    types = [t.text for t in setup.findall(".//u:CreatePartition/u:Type", NS)]
    assert types == ["EFI", "MSR", "Primary"]  # GPT for UEFI
    assert text(setup, ".//u:InstallFrom/u:MetaData/u:Value") == "Windows 11 Pro"
    assert text(setup, ".//u:ProductKey/u:Key") == "VK7JG-NPHTM-C97JM-9MPGT-3V66T"
    assert text(setup, ".//u:UserData/u:AcceptEula") == "true"
    paths = [p.text or "" for p in root.findall(".//u:DriverPaths//u:Path", NS)]
    # one driver directory per path: several drivers for one device fail with 0x80070103
    assert paths and all(
        p.endswith(("\\viostor\\w11\\amd64", "\\NetKVM\\w11\\amd64")) for p in paths
    )
    keys = [
        p.get("{http://schemas.microsoft.com/WMIConfig/2002/State}keyValue")
        for p in root.findall(".//u:DriverPaths/u:PathAndCredentials", NS)
    ]
    assert len(set(keys)) == len(keys)
    intl = component(root, "windowsPE", "Microsoft-Windows-International-Core-WinPE")
    assert text(intl, "u:UILanguage") == "en-US"


def test_oobe_makes_the_admin_with_the_vault_password_and_runs_the_set_up(
    rendered: tuple[SampleLab, str],
) -> None:
    root = ET.parse(rendered[0].media / "autounattend.xml").getroot()
    shell = component(root, "oobeSystem", "Microsoft-Windows-Shell-Setup")
    account = shell.find(".//u:LocalAccount", NS)
    assert account is not None
    assert text(account, "u:Name") == "labadmin"
    assert text(account, "u:Group") == "Administrators"
    assert text(account, "u:Password/u:Value") == ADMIN_PASSWORD  # XML-escaped, read back
    assert text(shell, "u:AutoLogon/u:Password/u:Value") == ADMIN_PASSWORD
    assert text(shell, "u:AutoLogon/u:LogonCount") == "1"
    assert text(shell, "u:OOBE/u:HideOnlineAccountScreens") == "true"
    command = text(shell, "u:FirstLogonCommands/u:SynchronousCommand/u:CommandLine")
    assert "hsp-setup.ps1" in command and "-ExecutionPolicy Bypass" in command
    special = component(root, "specialize", "Microsoft-Windows-Shell-Setup")
    assert text(special, "u:TimeZone") == "UTC"


def test_no_product_key_element_without_a_key(tmp_path: Path) -> None:
    lab = SampleLab(tmp_path)
    done = lab.render("-e", "windows_golden_vbs=false", "-e", "windows_golden_hvci=false")
    assert done.returncode == 0, done.stdout[-3000:]
    root = ET.parse(lab.media / "autounattend.xml").getroot()
    assert root.find(".//u:ProductKey", NS) is None
    script = (lab.media / "hsp-setup.ps1").read_text()
    assert "EnableVirtualizationBasedSecurity" not in script
    assert "HypervisorEnforcedCodeIntegrity" not in script
    assert "Say 'STEP vbs'" not in script


def commands() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = yaml.safe_load(COMMANDS.read_text())["windows_golden_commands"]
    return steps


def test_the_set_up_script_runs_every_listed_command_in_order(
    rendered: tuple[SampleLab, str],
) -> None:
    script = (rendered[0].media / "hsp-setup.ps1").read_text()
    steps = [s for s in commands() if s.get("when") != "{{ windows_golden_openssh == 'msi' }}"]
    position = 0
    for step in steps:
        position = script.index(f"Say 'STEP {step['step']}'", position)
        for item in step["run"]:
            if "when" in item:  # busparams: only with windows_golden_kdnet_busparams
                continue
            line = " ".join(item["command"].split()).replace(
                "{{ windows_golden_kdnet_key }}", KDNET_KEY
            )
            line = line.replace("{{ windows_golden_kdnet_host_ip }}", "192.168.251.1")
            line = line.replace("{{ windows_golden_kdnet_port }}", "50000")
            found = script.index(line, position)
            position = found
    assert script.rstrip().endswith("Stop-Computer -Force")
    assert "Say 'DONE'" in script and 'Say "FAILED' in script


def all_commands() -> str:
    return "\n".join(" ".join(i["command"].split()) for s in commands() for i in s["run"])


@pytest.mark.parametrize(
    "setting",
    [
        "bcdedit.exe /set testsigning on",
        "bcdedit.exe /dbgsettings net hostip:{{ windows_golden_kdnet_host_ip }} "
        "port:{{ windows_golden_kdnet_port }} key:{{ windows_golden_kdnet_key }}",
        "bcdedit.exe /debug on",
        "bcdedit.exe /set hypervisorlaunchtype auto",
        "-Name EnableVirtualizationBasedSecurity -Type DWord -Value 1",
        "-Name RequirePlatformSecurityFeatures -Type DWord -Value 1",
        "DeviceGuard\\Scenarios\\HypervisorEnforcedCodeIntegrity -Name Enabled "
        "-Type DWord -Value 1",
        "CrashControl -Name CrashDumpEnabled -Type DWord -Value 1",  # 1: complete memory dump
        "CrashControl -Name AutoReboot -Type DWord -Value 0",
        "WindowsUpdate\\AU -Name NoAutoUpdate -Type DWord -Value 1",
        "Set-Service -Name wuauserv -StartupType Disabled",
        'Import-Certificate -FilePath "$media\\hsprobe-test.cer" -CertStoreLocation '
        "Cert:\\LocalMachine\\Root",
        "-CertStoreLocation Cert:\\LocalMachine\\TrustedPublisher",
        "administrators_authorized_keys",
        "Set-Service -Name sshd -StartupType Automatic",
        "-Name DefaultShell -PropertyType String -Force -Value "
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "PasswordAuthentication no",
        "pnputil.exe /add-driver",
        "powercfg.exe /hibernate off",
    ],
)
def test_the_command_list_holds_the_promised_setting(setting: str) -> None:
    assert setting in all_commands()


def test_every_bcdedit_and_powershell_line_is_in_the_list() -> None:
    """The set-up script template holds no command of its own beyond the reporting frame."""
    template = (ANSIBLE / "roles" / "windows_golden" / "templates" / "setup.ps1.j2").read_text()
    for word in ("bcdedit", "Set-ItemProperty", "New-ItemProperty", "reg.exe", "pnputil"):
        assert word not in template


def test_secrets_stay_out_of_ansibles_output(rendered: tuple[SampleLab, str]) -> None:
    lab, output = rendered
    assert ADMIN_PASSWORD not in output and KDNET_KEY not in output
    assert KDNET_KEY in (lab.media / "hsp-setup.ps1").read_text()
    assert (lab.media / "hsp-setup.ps1").stat().st_mode & 0o077 == 0
