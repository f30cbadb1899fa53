"""Every libvirt call has a deadline: against a libvirt that accepts and never answers, the
harness gives up with one message, and SIGINT / SIGTERM end `harness vm` within seconds."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import HarnessTimeoutError
from harness.vm.bounded import Bounded, Guard, raw, with_timeout
from harness.vm.connection import open_connection
from tests.unit.vm.conftest import make_testguest
from tests.unit.vm.silent import SilentServer

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def silent(tmp_path: Path) -> Iterator[SilentServer]:
    server = SilentServer(tmp_path / "libvirt-sock")
    yield server
    server.close()


def test_opening_a_silent_libvirt_times_out_naming_it(silent: SilentServer) -> None:
    began = time.monotonic()
    with pytest.raises(HarnessTimeoutError, match=r"did not answer open within 0\.5 s"):
        open_connection(silent.uri, timeout=0.5)
    assert time.monotonic() - began < 3
    assert silent.accepted == 1  # it did reach the socket: this is not "connection refused"


def test_after_one_overrun_the_connection_fails_fast_until_the_call_returns() -> None:
    release = threading.Event()
    guard = Guard("test:///", timeout=0.2)
    with pytest.raises(HarnessTimeoutError, match="did not answer hang within"):
        guard.call("hang", release.wait)
    began = time.monotonic()
    with pytest.raises(HarnessTimeoutError, match="has not answered hang for"):
        guard.call("next", lambda: 1)
    assert time.monotonic() - began < 0.1  # no second deadline waited out
    release.set()
    time.sleep(0.05)
    assert guard.call("after", lambda: 2) == 2


def test_errors_and_results_come_back_from_the_call() -> None:
    guard = Guard("test:///", timeout=5)
    assert guard.call("add", lambda a, b: a + b, 1, b=2) == 3
    with pytest.raises(ZeroDivisionError):
        guard.call("div", lambda: 1 / 0)


def test_a_bounded_object_bounds_its_methods_and_unwraps_arguments() -> None:
    class Obj:
        def __init__(self) -> None:
            self.seen: object = None

        def slow(self) -> None:
            time.sleep(1)

        def take(self, other: object) -> None:
            self.seen = other

    guard = Guard("test:///", timeout=5)
    target = Obj()
    proxy = Bounded(target, guard, "Obj")
    proxy.take(Bounded(42, guard, "int"))
    assert target.seen == 42 and raw(proxy) is target
    with pytest.raises(HarnessTimeoutError, match=r"Obj\.slow within 0\.1 s"):
        with_timeout(proxy, 0.1).slow()


def _harness(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("action", [["list"], ["gc"], ["gc", "--dry-run"]])
def test_vm_list_and_gc_give_up_on_a_silent_libvirt(
    silent: SilentServer, action: list[str]
) -> None:
    proc = _harness("vm", *action, "--uri", silent.uri, "--timeout", "1")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert err.strip().startswith("harness vm: error: libvirt at ") and err.count("\n") == 1


def _pool_file(tmp_path: Path, open_dir: Path, uri: str) -> Path:
    image = make_testguest(open_dir / "tg")
    config = tmp_path / "pool.toml"
    config.write_text(
        f'[vm]\nimage = "{image}"\nuri = "{uri}"\nname = "silent"\n'
        f'state_dir = "{tmp_path / "state"}"\n'
    )
    return config


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("command", ["list", "up"])
def test_a_signal_ends_a_command_stuck_on_libvirt_within_seconds(
    silent: SilentServer, tmp_path: Path, open_dir: Path, command: str, sig: int, status: int
) -> None:
    if command == "up":
        proc = _harness("vm", "up", str(_pool_file(tmp_path, open_dir, silent.uri)))
    else:  # a deadline far beyond the test: only the signal can end it
        proc = _harness("vm", "list", "--uri", silent.uri, "--timeout", "600")
    deadline = time.monotonic() + 30
    while silent.accepted == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # until the command is blocked on libvirt
    assert silent.accepted == 1
    began = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - began < 5, err
    assert proc.returncode == status, err
    assert err.strip() == "harness vm: interrupted"
