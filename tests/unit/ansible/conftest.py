"""Running ansible/ the way a user does (ANSIBLE_CONFIG=ansible/ansible.cfg, the venv's tools)
and a sample lab for the windows_golden role: small stand-in ISO files with their real
checksums, a key, a certificate, a CPU-flags file, and a Vault-encrypted secrets file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ANSIBLE = REPO / "ansible"
BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "Lab<&>'\"pw-2f9e"
KDNET_KEY = "2steg4fzbj2sz.23418vzkd4ko3.1g34ou07z4pev.1sp3yo9yz874p"
VAULT_PASSWORD = "sample-vault-password"

Run = Callable[..., subprocess.CompletedProcess[str]]


def ansible(
    tool: str, *args: str, cwd: Path = ANSIBLE, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run an ansible tool from the venv with the project's ansible.cfg."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        [str(BIN / tool), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class SampleLab:
    """An inventory putting localhost in group windows_golden, with every input in `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.inventory = root / "inventory"
        self.work = root / "work"
        self.vault_password = root / "vault-password"
        (root / "win11.iso").write_bytes(b"not really windows\n" * 1000)
        (root / "virtio-win.iso").write_bytes(b"not really virtio-win\n" * 1000)
        (root / "lab.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISampleKey lab\n")
        (root / "hsprobe-test.cer").write_bytes(b"0\x82sample certificate")
        (root / "cpuinfo").write_text("processor\t: 0\nflags\t\t: fpu vme de pse vmx sse2\n")
        (root / "kvm").write_text("")  # stands for /dev/kvm in the check
        self.vault_password.write_text(VAULT_PASSWORD + "\n")
        self.vars: dict[str, object] = {
            "windows_golden_iso": str(root / "win11.iso"),
            "windows_golden_iso_sha256": sha256(root / "win11.iso"),
            "windows_golden_virtio_iso": str(root / "virtio-win.iso"),
            "windows_golden_virtio_iso_sha256": sha256(root / "virtio-win.iso"),
            "windows_golden_ssh_public_key": str(root / "lab.pub"),
            "windows_golden_test_certificate": str(root / "hsprobe-test.cer"),
            "windows_golden_work_dir": str(self.work),
            "windows_golden_images_dir": str(root / "images"),
            "hypervisor_cpuinfo": str(root / "cpuinfo"),
            "hypervisor_kvm_device": str(root / "kvm"),
        }
        self.secrets = {
            "windows_golden_admin_password": ADMIN_PASSWORD,
            "windows_golden_kdnet_key": KDNET_KEY,
        }

    def write(self, encrypt: bool = True) -> Path:
        group = self.inventory / "group_vars" / "windows_golden"
        group.mkdir(parents=True, exist_ok=True)
        (self.inventory / "hosts.yml").write_text(
            yaml.safe_dump(
                {
                    "all": {
                        "children": {
                            "windows_golden": {
                                "hosts": {
                                    "localhost": {
                                        "ansible_connection": "local",
                                        "ansible_python_interpreter": "/usr/bin/python3",
                                    }
                                }
                            }
                        }
                    }
                }
            )
        )
        (group / "main.yml").write_text(yaml.safe_dump(self.vars))
        vault = group / "vault.yml"
        vault.write_text(yaml.safe_dump(self.secrets))
        if encrypt:
            done = ansible(
                "ansible-vault",
                "encrypt",
                "--vault-password-file",
                str(self.vault_password),
                str(vault),
            )
            assert done.returncode == 0, done.stderr
        return self.inventory

    def render(self, *extra: str) -> subprocess.CompletedProcess[str]:
        """The role's checks and its set-up disc's files (tag render), nothing else."""
        return ansible(
            "ansible-playbook",
            "-i",
            str(self.write()),
            "playbooks/windows-golden.yml",
            "--tags",
            "render",
            "--vault-password-file",
            str(self.vault_password),
            *extra,
        )

    @property
    def media(self) -> Path:
        return self.work / "windows11" / "media"


@pytest.fixture
def lab(tmp_path: Path) -> SampleLab:
    return SampleLab(tmp_path)
