"""The stand-in guest as the pool boots it: SSH with the pinned host key and the client key
beside the image, the drivers and tool inside, the network, and a panic that reaches the
hypervisor through pvpanic-pci."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time

import pytest

from harness.errors import InfrastructureError
from harness.vm.connection import import_libvirt

from .guest import Guest, known_hosts

pytestmark = pytest.mark.integration


def test_login_with_the_pinned_host_key_and_the_client_key(booted: Guest) -> None:
    assert booted.host == "127.0.0.1"  # a loopback forward, nothing exposed beyond the host
    release = booted.run("uname", "-r").stdout.decode().strip()
    assert release == booted.info["kernel_release"]
    assert booted.run("id", "-u").stdout.strip() == b"0"
    assert (booted.image / "client_key").stat().st_mode & 0o777 == 0o600


def test_a_host_key_that_is_not_the_pinned_one_is_refused(booted: Guest) -> None:
    other = booted.workdir / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    wrong = known_hosts(
        booted.workdir / "wrong_known_hosts",
        booted.host,
        booted.port,
        other.with_suffix(".pub").read_text(),
    )
    with pytest.raises(InfrastructureError) as caught:
        booted.transport(wrong, retries=1).connect()
    assert str(caught.value) == (
        f"ssh root@{booted.host}:{booted.port}: host key does not match {wrong}; refusing"
    )


def test_password_login_is_off(booted: Guest) -> None:
    """Key-based login only: the server offers nothing but publickey."""
    from harness.guest.ssh import import_paramiko

    paramiko = import_paramiko()
    with paramiko.Transport((booted.host, booted.port)) as transport:
        transport.connect()
        with pytest.raises(paramiko.BadAuthenticationType) as caught:
            transport.auth_password("root", "root")
    assert caught.value.allowed_types == ["publickey"]


def test_the_drivers_and_the_tool_are_the_built_ones(booted: Guest) -> None:
    manifest = json.loads((booted.image / "drivers.json").read_text())
    inside = json.loads(booted.run("cat", "/etc/standin/drivers.json").stdout)
    assert inside == manifest
    files = {
        f"{booted.modules}/hsproxy.ko",
        f"{booted.modules}/hsprobe.ko",
        f"{booted.modules}/hsprobe2.ko",
        booted.info["hsprobectl"],
    }
    for remote in sorted(files):
        name = remote.rsplit("/", 1)[1]
        entry = next((e for e in manifest["artifacts"] if e["name"] == name), None)
        assert entry is not None, f"{name} is not in the manifest"
        assert booted.ssh.sha256(remote) == entry["sha256"]
    assert booted.run("hsprobectl", "--help", check=False).status in (0, 2)


def test_sftp_copies_are_verified(booted: Guest) -> None:
    data = hashlib.sha256(b"standin").digest() * 64
    booted.ssh.put_bytes(data, "/tmp/copy.bin")
    assert booted.ssh.sha256("/tmp/copy.bin") == hashlib.sha256(data).hexdigest()


def test_a_panic_reaches_the_hypervisor_and_a_revert_recovers(booted: Guest) -> None:
    libvirt = import_libvirt()
    domain = booted.machine._dom()
    booted.ssh.open(["sh", "-c", "echo c > /proc/sysrq-trigger"])
    deadline = time.monotonic() + 60
    while domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)  # polling libvirt's view of the domain, bounded by the deadline
    assert domain.state() == [libvirt.VIR_DOMAIN_CRASHED, libvirt.VIR_DOMAIN_CRASHED_PANICKED]
    assert "Kernel panic" in booted.machine.console.text()
    booted.revert("booted")
    assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert booted.run("true").status == 0


def test_dev_stdout_is_the_commands_output(booted: Guest) -> None:
    """A tool told to write to /dev/stdout (hsprobectl trace --raw) reaches the caller."""
    out = booted.run("sh", "-c", "echo through > /dev/stdout; readlink /dev/stdout")
    assert out.stdout.decode().split() == ["through", "/proc/self/fd/1"]
