"""libvirtd hanging in the middle of a run, for real: a unix socket proxy in front of the
real libvirtd stops forwarding once the run has leased and defined its machine. SIGTERM
must still end `harness vm up` within seconds, with its lease released, and `harness vm gc`
removes what it could not."""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.vm.lease import is_held
from tests.integration.vm.conftest import REPO, MakeConfig, domain_names, harness_cli
from tests.unit.vm.silent import SilentServer

pytestmark = pytest.mark.integration

LIBVIRTD = "/var/run/libvirt/libvirt-sock"


class FreezingProxy(SilentServer):
    """Forwards each client connection to libvirtd until `freeze()`; then holds every
    byte, in both directions, as a hung daemon would."""

    def __init__(self, path: Path):
        self.frozen = threading.Event()
        super().__init__(path)

    def handle(self, conn: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(LIBVIRTD)
        threading.Thread(target=self._pump, args=(conn, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        while not self.frozen.is_set():
            ready, _, _ = select.select(list(peers), [], [], 0.05)
            for sock in ready:
                if self.frozen.is_set():
                    break
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)
        self.frozen.wait()  # hold both ends open, silent

    def freeze(self) -> None:
        self.frozen.set()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[FreezingProxy]:
    server = FreezingProxy(tmp_path / "libvirt-sock")
    yield server
    server.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_libvirt_hang_unwinds_in_seconds_and_frees_the_lease(
    make_config: MakeConfig, proxy: FreezingProxy, tmp_path: Path, sig: int
) -> None:
    config = make_config("h", accel="tcg")
    name = f"hs-{config.name}-0"
    pool = tmp_path / "pool.toml"
    # a libvirt timeout far beyond the test: only the signal can end the wait
    pool.write_text(
        f'[vm]\nname = "{config.name}"\nimage = "{config.image}"\n'
        f'uri = "{proxy.uri}"\nlibvirt_timeout = 3600\naccel = "tcg"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "vm", "up", str(pool)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while domain_names(name) != [name] and time.monotonic() < deadline:
            time.sleep(0.1)  # leased and defined: the run is booting its guest
        assert domain_names(name) == [name]
        proxy.freeze()
        time.sleep(1)  # the run is now blocked on a libvirt call that will never return
        began = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - began
        assert took < 6, (took, err)
        assert proc.returncode == 128 + sig, err
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1] == "harness vm: interrupted"
        assert not is_held(config.state / "leases", config.name, 0)
        assert not (config.state / "leases" / f"{config.name}-0.lock").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # what the hung libvirt kept it from removing, gc removes once libvirt answers
        done = harness_cli("vm", "gc", "--pool", config.name)
    assert done.returncode == 0, done.stderr
    assert domain_names(f"hs-{config.name}-") == []
