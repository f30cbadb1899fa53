"""Bad input to the windows_golden role fails early: one message naming the variable or file,
exit status 2 from `harness lab provision` (non-zero from plain ansible-playbook), and nothing
on the host changed (the work directory was never made)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.ansible.conftest import REPO, SampleLab, ansible


def provision(lab: SampleLab, *extra: str, vault: bool = True) -> subprocess.CompletedProcess[str]:
    args = [
        sys.executable,
        "-m",
        "harness",
        "lab",
        "provision",
        str(lab.write()),
        "--playbook",
        "windows-golden",
        "--tags",
        "render",
        *extra,
    ]
    if vault:
        args += ["--vault-password-file", str(lab.vault_password)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_VAULT")}
    return subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=600, check=False, env=env
    )


def assert_refused(lab: SampleLab, done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stdout + done.stderr, (word, done.stdout[-3000:], done.stderr)
    assert not lab.work.exists(), "the role changed the host before refusing"


def test_a_missing_iso_names_the_variable_and_the_path(lab: SampleLab) -> None:
    missing = lab.root / "nowhere" / "Win11.iso"
    lab.vars["windows_golden_iso"] = str(missing)
    done = provision(lab)
    assert_refused(lab, done, "windows_golden_iso:", str(missing), "is not a file")


def test_a_wrong_checksum_names_the_iso_and_both_sums(lab: SampleLab) -> None:
    lab.vars["windows_golden_virtio_iso_sha256"] = "ab" * 32
    done = provision(lab)
    assert_refused(
        lab,
        done,
        "windows_golden_virtio_iso:",
        "not windows_golden_virtio_iso_sha256",
        "ab" * 32,
        "a different or damaged ISO",
    )


def test_a_missing_required_variable_is_named(lab: SampleLab) -> None:
    del lab.secrets["windows_golden_kdnet_key"]
    done = provision(lab)
    assert_refused(lab, done, "windows_golden_kdnet_key is not set for localhost", "Ansible Vault")
    failures = re.findall(r"^failed\s", done.stdout, re.MULTILINE)
    assert len(failures) == 1  # one message, not one per variable


def test_a_host_without_virtualization_is_refused(lab: SampleLab) -> None:
    (lab.root / "cpuinfo").write_text("processor\t: 0\nflags\t\t: fpu vme de pse sse2\n")
    done = provision(lab)
    assert_refused(
        lab,
        done,
        "hypervisor_require_kvm",
        "no hardware virtualization",
        f"no vmx/svm flag in {lab.root / 'cpuinfo'}",
    )


def test_no_vault_password_names_the_encrypted_file(lab: SampleLab) -> None:
    done = provision(lab, vault=False)
    vault = lab.inventory / "group_vars" / "windows_golden" / "vault.yml"
    assert_refused(lab, done, f"{vault} is encrypted with Ansible Vault", "--vault-password-file")
    assert done.stdout == ""  # refused before Ansible started


def test_plain_ansible_playbook_refuses_the_same(lab: SampleLab) -> None:
    lab.vars["windows_golden_iso_sha256"] = "0" * 64
    done = ansible(
        "ansible-playbook",
        "-i",
        str(lab.write()),
        "playbooks/windows-golden.yml",
        "--tags",
        "render",
        "--vault-password-file",
        str(lab.vault_password),
    )
    assert done.returncode != 0
    assert "windows_golden_iso:" in done.stdout and "a different or damaged ISO" in done.stdout
    assert not lab.work.exists()


@pytest.mark.parametrize("inventory", ["missing-inventory", "ansible/inventories/local"])
def test_provision_refuses_bad_arguments(inventory: str, tmp_path: Path) -> None:
    args = ["lab", "provision", inventory]
    args += ["--playbook", "nope"] if inventory.startswith("ansible") else []
    done = subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and ("does not exist" in lines[0] or "--playbook nope" in lines[0])
