"""The build machine after the hypervisor role (molecule verify, pytest-testinfra): what the
integration tests rely on is there and running."""

import os

import pytest

testinfra_hosts = ["ansible://localhost"]

PACKAGES = ["qemu-system-x86", "libvirt-daemon-system", "ovmf", "swtpm", "dnsmasq-base",
            "gcc-mingw-w64-x86-64", "cppcheck", "llvm", "gdb", "python3-libvirt"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_installed(host, name):
    assert host.package(name).is_installed


@pytest.mark.parametrize("daemon", ["libvirtd", "virtlogd"])
def test_daemon_running(host, daemon):
    assert host.process.filter(comm=daemon), f"{daemon} is not running"


def test_libvirt_answers(host):
    assert host.run("virsh -c qemu:///system version").rc == 0


def test_kvm_device_has_udevs_owner_and_mode(host):
    kvm = host.file("/dev/kvm")
    if not kvm.exists:
        pytest.skip("this host has no /dev/kvm")
    assert kvm.group == "kvm"
    assert kvm.mode == 0o660


def test_kdnet_network_active_and_isolated(host):
    xml = host.check_output("virsh -c qemu:///system net-dumpxml hs-kdnet")
    assert "<forward" not in xml  # isolated: no route out
    assert "192.168.248.1" in xml  # the build machine's subnet (inventories/local)
    assert host.run("virsh -c qemu:///system net-info hs-kdnet | grep -q 'Active: *yes'").rc == 0


def test_storage_pool_active(host):
    info = host.check_output("virsh -c qemu:///system pool-info hotswap-harness")
    assert "running" in info
    assert host.file("/var/lib/hotswap-harness/images").mode & 0o005 == 0o005


def test_harness_in_its_venv(host):
    venv = os.environ["HARNESS_VENV"]
    assert host.run(f"{venv}/bin/python -c 'import harness.vm.libvirt, paramiko, pefile'").rc == 0
    assert host.file(f"{venv}/.provisioned").exists


def test_kernel_headers_for_the_guest_kernel(host):
    root = os.environ["MOLECULE_PROJECT_DIRECTORY"] + "/../../.."
    release = host.check_output(f"{root}/drivers/linux/kernel-release")
    assert host.package(f"linux-headers-{release}").is_installed
