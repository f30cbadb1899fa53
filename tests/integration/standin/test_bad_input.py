"""Bad input around the stand-in guest: one clear error each, naming the cause, nothing left
running."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from harness.actions import Signal
from harness.errors import GuestBootError, InfrastructureError, InputError
from harness.guest import kmod
from tests.integration.vm.conftest import domain_names, harness_cli

from .conftest import pool_name
from .driver import StandinDriver
from .guest import Guest

pytestmark = pytest.mark.integration


def test_a_guest_that_never_gets_ready_is_one_boot_error(
    standin_image: Path, libvirtd: None
) -> None:
    """An image whose kernel finds no init panics and reboots, over and over, before any
    marker: `harness vm up` gives one GuestBootError quoting the console at the boot
    timeout, and leaves no domain or files behind."""
    broken = Path("/var/lib/hotswap-harness/images") / f"standin-noinit-{pool_name('x')}"
    broken.mkdir(parents=True)
    name = pool_name("n")
    try:
        for f in ("vmlinuz", "initrd.img", "disk.qcow2", "host_key.pub", "client_key"):
            shutil.copyfile(standin_image / f, broken / f)  # no xattrs: libvirt labels anew
        cmdline = (standin_image / "cmdline").read_text().strip()
        (broken / "cmdline").write_text(f"{cmdline} rdinit=/no/such/init\n")
        config = broken / "pool.toml"
        config.write_text(
            f'[vm]\nname = "{name}"\nprofile = "linux-standin"\n'
            f'image = "{broken}"\nboot_timeout = 10.0\n'
        )
        done = harness_cli("vm", "up", str(config))
    finally:
        shutil.rmtree(broken)
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"harness vm: error: hs-{name}-0 did not boot: hs-{name}-0: "
        "no console line matching /HSGUEST READY/ within 10 s"
    )
    assert domain_names(f"hs-{name}-") == []
    assert not Path(f"/var/lib/hotswap-harness/machines/hs-{name}-0").exists()


def test_a_guest_that_panics_fails_the_wait_for_its_marker_at_once(booted: Guest) -> None:
    """pvpanic makes libvirt report the guest crashed: a wait for a console line (what boot()
    does for the ready marker) ends there, not at its timeout."""
    booted.ssh.open(["sh", "-c", "echo c > /proc/sysrq-trigger"])
    began = time.monotonic()
    with pytest.raises(GuestBootError) as caught:
        booted.machine.console.wait_for("NEVER PRINTED", 300)
    assert time.monotonic() - began < 150
    assert str(caught.value).startswith(
        f"{booted.machine.name} stopped before its console printed /NEVER PRINTED/; last output:"
    )
    booted.revert("booted")  # the shared guest goes on for the next test


def test_a_module_built_for_another_kernel_is_refused_with_the_kernels_reason(
    booted: Guest,
) -> None:
    """hsproxy.ko built by the drivers' Makefile against the RT flavour's headers of the
    same release: insmod in the guest fails, and the error says why in the kernel's words."""
    release = booted.info["kernel_release"]
    other = f"{release.removesuffix('-cloud-amd64')}-rt-amd64"
    built = subprocess.run(
        [str(Path(__file__).with_name("other-kernel-module")), other],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    booted.ssh.put(built.stdout.strip(), "/tmp/hsproxy.ko")
    with pytest.raises(InputError) as caught:
        kmod.insmod(booted.ssh, "/tmp/hsproxy.ko", ["feature=enabled"])
    message = str(caught.value)
    assert message.startswith(
        "/tmp/hsproxy.ko was built for another kernel: the kernel says hsproxy: "
    ), message
    assert "version" in message.split("the kernel says", 1)[1]  # magic or symbol versions
    assert "make -C drivers linux" in message and "\n" not in message
    assert "hsproxy" not in booted.run("lsmod").stdout.decode()


def test_hsprobectl_without_the_driver_is_one_clear_error(booted: Guest) -> None:
    """No module loaded, so no /dev/hsprobe: the tool exits 3 with one line naming the
    device and what to load, and the transport surfaces exactly that."""
    driver = StandinDriver(booted)
    with pytest.raises(InfrastructureError) as caught:
        driver.do(Signal(1, 0))
    assert str(caught.value) == (
        f"ssh root@{booted.host}:{booted.port}: hsprobectl exited 3: hsprobectl: opening "
        "/dev/hsprobe failed (No such file or directory): is the module loaded? insmod "
        "hsproxy.ko, then hsprobe.ko (see drivers/README.md)"
    )
