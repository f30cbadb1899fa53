"""Leases across processes, orphans after SIGKILL, Ctrl-C, and definition errors, against the
real libvirtd: what a nightly run relies on not to share or leak machines."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.errors import HarnessTimeoutError, InfrastructureError
from harness.vm.config import PoolConfig
from harness.vm.lease import is_held
from harness.vm.libvirt import LibvirtPool
from tests.integration.vm.conftest import REPO, MakeConfig, domain_names, harness_cli

pytestmark = pytest.mark.integration

HOLDER = textwrap.dedent("""
    import json, sys
    from harness.vm.config import parse_pool_config
    from harness.vm.libvirt import LibvirtPool
    with LibvirtPool(parse_pool_config(json.loads(sys.argv[1]), "test")) as pool:
        machine = pool.lease(timeout=float(sys.argv[2]))
        print(machine.name, flush=True)
        sys.stdin.read()  # hold the lease until the test closes our stdin
""")


def start_holder(
    config: PoolConfig, timeout: float = 60, code: str = HOLDER
) -> subprocess.Popen[str]:
    import msgspec

    data = json.dumps(msgspec.to_builtins(config))
    return subprocess.Popen(
        [sys.executable, "-c", code, data, str(timeout)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(holder: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = holder.communicate(timeout=120)
    return holder.returncode, err


def test_two_concurrent_leases_never_get_the_same_domain(make_config: MakeConfig) -> None:
    config = make_config("l", size=2)
    holders = [start_holder(config), start_holder(config)]  # racing for slot 0
    try:
        names = [h.stdout.readline().strip() for h in holders]  # type: ignore[union-attr]
        assert sorted(names) == [f"hs-{config.name}-0", f"hs-{config.name}-1"]
        assert sorted(domain_names(f"hs-{config.name}-")) == sorted(names)
    finally:
        results = [finish(h) for h in holders]
    assert [code for code, _ in results] == [0, 0], results
    assert domain_names(f"hs-{config.name}-") == []


def test_a_held_slot_is_not_leased_again(make_config: MakeConfig) -> None:
    config = make_config("b", size=1)
    holder = start_holder(config)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip()
        with LibvirtPool(config) as pool, pytest.raises(HarnessTimeoutError, match="leased"):
            pool.lease(timeout=1)
    finally:
        assert finish(holder)[0] == 0
    with LibvirtPool(config) as pool:  # free again once the holder has gone
        assert pool.lease(timeout=10).name == f"hs-{config.name}-0"


def up_holding(config_file: Path, *extra: str) -> subprocess.Popen[str]:
    """`harness vm up CONFIG --hold`, returned once the guest has booted."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "vm", "up", str(config_file), "--hold", *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "booted" in line, proc.stderr.read() if proc.stderr else line
    return proc


def write_config(tmp_path: Path, config: PoolConfig) -> Path:
    path = tmp_path / "pool.toml"
    path.write_text(
        f'[vm]\nname = "{config.name}"\nimage = "{config.image}"\nboot_timeout = 600.0\n'
    )
    return path


def test_sigkill_leaves_an_orphan_that_gc_removes(make_config: MakeConfig, tmp_path: Path) -> None:
    config = make_config("k")
    name = f"hs-{config.name}-0"
    proc = up_holding(write_config(tmp_path, config))
    qemu_pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text())
    proc.send_signal(signal.SIGKILL)  # no cleanup code runs
    proc.wait(timeout=30)
    assert domain_names(name) == [name]
    listing = harness_cli("vm", "list", "--pool", config.name).stdout
    assert f"{name}\trunning\tpool={config.name}" in listing and "(orphan)" in listing
    dry = harness_cli("vm", "gc", "--dry-run", "--pool", config.name)
    assert f"would remove {name}" in dry.stdout and domain_names(name) == [name]
    done = harness_cli("vm", "gc", "--pool", config.name)
    assert done.returncode == 0, done.stderr
    assert f"removed {name}" in done.stdout
    assert domain_names(name) == []
    assert not (config.state / "machines" / name).exists()
    assert not Path(f"/proc/{qemu_pid}").exists()
    assert not is_held(config.state / "leases", config.name, 0)
    assert not (config.state / "leases" / f"{config.name}-0.lock").exists()


def test_gc_leaves_a_live_runs_domains_alone(make_config: MakeConfig) -> None:
    config = make_config("a")
    with LibvirtPool(config) as pool:
        machine = pool.lease()
        done = harness_cli("vm", "gc", "--pool", config.name)
        assert done.returncode == 0 and machine.name not in done.stdout
        assert domain_names(machine.name) == [machine.name]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_destroys_what_the_run_created(
    make_config: MakeConfig, tmp_path: Path, sig: int
) -> None:
    config = make_config("c")
    proc = up_holding(write_config(tmp_path, config), "--gdbstub")
    assert proc.stdout is not None
    host, port = proc.stdout.readline().split()[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30):
        pass  # the stub the CLI printed is listening
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    assert domain_names(f"hs-{config.name}-") == []


def test_a_definition_error_is_one_infrastructure_error_naming_the_domain(
    make_config: MakeConfig, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    for source in (REPO / "vm/templates").glob("*.j2"):
        text = source.read_text().replace("bus='virtio'", "bus='nonsense'")
        (templates / source.name).write_text(text)
    config = make_config("d", template_dir=str(templates))
    name = f"hs-{config.name}-0"
    with LibvirtPool(config) as pool:
        with pytest.raises(InfrastructureError) as caught:
            pool.lease()
        assert pool.leased() == []
    message = str(caught.value)
    assert message.startswith(f"libvirt rejected the definition of domain {name}: ")
    assert "nonsense" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert domain_names(name) == []
    assert not (config.state / "machines" / name).exists()
    assert not is_held(config.state / "leases", config.name, 0)


def test_a_lease_by_a_dead_run_is_reclaimed_with_its_domain(make_config: MakeConfig) -> None:
    config = make_config("r")
    holder = start_holder(config)
    assert holder.stdout is not None and holder.stdout.readline().strip()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    deadline = time.monotonic() + 30
    while is_held(config.state / "leases", config.name, 0) and time.monotonic() < deadline:
        time.sleep(0.1)  # the kernel drops the flock once the process is reaped
    with LibvirtPool(config) as pool:
        machine = pool.lease(timeout=10)  # takes the slot over and replaces the stale domain
        assert machine.name == f"hs-{config.name}-0"
        assert machine.owner.pid == os.getpid()
    assert domain_names(machine.name) == []


def test_isolated_networks_are_defined_once_each_on_a_subnet_of_its_own(libvirtd: None) -> None:
    from harness.vm.connection import open_connection
    from harness.vm.network import ensure_isolated_network
    from tests.integration.vm.conftest import unique_name

    conn = open_connection("qemu:///system")
    names = [unique_name("n"), unique_name("n")]
    try:
        networks = [ensure_isolated_network(conn, REPO / "vm/templates", n) for n in names]
        assert all(network.isActive() for network in networks)
        again = ensure_isolated_network(conn, REPO / "vm/templates", names[0])
        assert again.UUIDString() == networks[0].UUIDString()
        addresses = {re.search(r"<ip address='([\d.]+)'", n.XMLDesc(0))[1] for n in networks}
        assert len(addresses) == 2  # the second did not try the first one's subnet
        assert "<forward" not in networks[0].XMLDesc(0)
    finally:
        for each in conn.listAllNetworks():
            if each.name() in names:
                if each.isActive():
                    each.destroy()
                each.undefine()
        conn.close()


def test_libvirt_accepts_the_windows11_profile(make_config: MakeConfig, tmp_path: Path) -> None:
    """Defined only (no Windows image here): libvirt checks the machine type, firmware, TPM,
    NICs and Hyper-V features against this QEMU."""
    kdnet = f"{make_config().name}k"
    disk = Path(str(make_config().image)).parent / f"{kdnet}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1G"], check=True)
    config = make_config(
        "w",
        profile="windows11",
        image=str(disk),
        memory_mib=512,
        network=kdnet,
        kdnet_network=kdnet,
    )
    try:
        with LibvirtPool(config) as pool:
            machine = pool.lease()
            assert domain_names(machine.name) == [machine.name]
            assert (
                "<tpm model='tpm-crb'>"
                in subprocess.run(
                    ["virsh", "-c", config.uri, "dumpxml", machine.name],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        assert domain_names(machine.name) == []
    finally:
        disk.unlink(missing_ok=True)
        subprocess.run(
            ["virsh", "-c", config.uri, "net-destroy", kdnet], capture_output=True, check=False
        )
        subprocess.run(
            ["virsh", "-c", config.uri, "net-undefine", kdnet], capture_output=True, check=False
        )


def test_gc_removes_stray_machine_files_but_not_a_held_slots(make_config: MakeConfig) -> None:
    from harness.vm.lease import acquire

    config = make_config("s", size=2)
    machines = config.state / "machines"
    stray, held = machines / f"hs-{config.name}-0", machines / f"hs-{config.name}-1"
    lease0 = acquire(config.state / "leases", config.name, 2, timeout=1)
    lease1 = acquire(config.state / "leases", config.name, 2, timeout=1)
    lease0.release()  # slot 0: files left by a run killed before it defined its domain
    try:
        for directory in (stray, held):
            directory.mkdir(parents=True)
            (directory / "disk.qcow2").write_bytes(b"")
        done = harness_cli("vm", "gc", "--pool", config.name)
        assert done.returncode == 0, done.stderr
        assert f"removed stray files {stray}" in done.stdout
        assert not stray.exists() and held.exists()
    finally:
        lease1.release()
        for directory in (stray, held):
            shutil.rmtree(directory, ignore_errors=True)


def test_shutdown_forces_off_a_guest_that_ignores_acpi_and_it_boots_again(
    make_config: MakeConfig,
) -> None:
    with LibvirtPool(make_config("o")) as pool:
        machine = pool.lease()
        machine.boot()
        machine.shutdown(timeout=2)  # busybox init has no ACPI listener
        assert not machine.is_running()
        machine.boot()
        assert machine.is_running()
