"""The stand-in guest for its integration tests: built (cached) by the project's own
scripts, booted once through the pool, reached over SSH through a loopback forward with its
host key pinned, and brought back to a snapshot between tests."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.debug import Stop, linux
from harness.debug.btf import Btf
from harness.debug.gdbstub import GdbstubDebugger
from harness.guest.ssh import CommandResult, SshTransport

REPO = Path(__file__).resolve().parents[3]


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr}{done.stdout}"
    return done.stdout


def build_image() -> Path:
    """drivers/dist/linux (incremental; or HSP_LINUX_DIST's prebuilt artifacts) and the
    stand-in image made from it (cached)."""
    if "HSP_LINUX_DIST" not in os.environ:
        _run(["make", "-s", "-C", "drivers", "linux"])
    return Path(_run([str(REPO / "vm/standin/build")]).strip().splitlines()[-1])


def known_hosts(path: Path, host: str, port: int, public_key: str) -> Path:
    """A known_hosts file pinning `public_key` ("TYPE BASE64 [comment]") for host:port."""
    kind, blob = public_key.split()[:2]
    path.write_text(f"[{host}]:{port} {kind} {blob}\n")
    return path


class Guest:
    """One booted stand-in machine (a LibvirtMachine) and how to talk to it."""

    def __init__(self, machine: Any, image: Path, workdir: Path) -> None:
        self.machine, self.image, self.workdir = machine, image, workdir
        self.info: dict[str, Any] = json.loads((image / "guest.json").read_text())
        self.host, self.port = machine.forward(self.info["ssh_port"])
        self.pinned = known_hosts(
            workdir / "known_hosts",
            self.host,
            self.port,
            (image / self.info["host_key"]).read_text(),
        )
        self._ssh: SshTransport | None = None

    def transport(self, known: Path | None = None, **options: Any) -> SshTransport:
        """A new, unconnected transport to the guest's sshd."""
        return SshTransport(
            self.host,
            port=self.port,
            user=self.info["ssh_user"],
            key_file=self.image / self.info["client_key"],
            known_hosts=known or self.pinned,
            **options,
        )

    @property
    def ssh(self) -> SshTransport:
        """The shared connection (reconnected after a revert)."""
        if self._ssh is None:
            self._ssh = self.transport().connect()
        return self._ssh

    def run(self, *argv: str, check: bool = True, timeout: float = 60.0) -> CommandResult:
        return self.ssh.run(list(argv), check=check, timeout=timeout)

    def revert(self, snapshot: str) -> None:
        """Back to `snapshot`; a revert rewinds the guest's TCP state, so reconnect after."""
        self.disconnect()
        self.machine.revert(snapshot)

    def snapshot(self, name: str) -> None:
        self.disconnect()  # a snapshot must not hold a live connection
        self.machine.snapshot(name)

    def disconnect(self) -> None:
        if self._ssh is not None:
            self._ssh.close()
            self._ssh = None

    @property
    def modules(self) -> str:
        return str(self.info["modules_dir"])

    def module(self, name: str) -> str:
        return f"{self.modules}/{name}.ko"


class Introspected:
    """The gdbstub debugger on the guest with what Linux introspection needs: the kernel's
    per-CPU offsets (from kallsyms) and structure layout (from its BTF)."""

    def __init__(self, guest: Guest) -> None:
        self.guest = guest
        self.btf = Btf(guest.run("cat", "/sys/kernel/btf/vmlinux").stdout, "guest BTF")
        self.layout = linux.KernelLayout.resolve(self.symbols(*linux.PERCPU_SYMBOLS), self.btf)
        host, port = guest.machine.gdbstub()
        self.debugger = GdbstubDebugger(host, port, timeout=30.0)
        self.debugger.resume()  # connecting stopped the guest: let it run until a breakpoint

    def symbols(self, *names: str) -> dict[str, int]:
        """Addresses from the guest's /proc/kallsyms (`name` or `module!name`)."""
        found = linux.parse_kallsyms(self.guest.run(*linux.kallsyms_argv(names)).stdout.decode())
        return {name: found[name] for name in names if name in found}

    def thread(self) -> tuple[int, int, str]:
        """(pid, task_struct, comm) of the task on the stopped CPU."""
        pid, task = linux.thread(self.debugger, self.debugger, self.layout)
        comm = self.debugger.read(task + self.btf.offset("task_struct", "comm"), 16)
        return pid, task, comm.split(b"\0")[0].decode()

    def level(self) -> int:
        return linux.irql(self.debugger, self.debugger, self.layout)

    @contextmanager
    def stopped_at(
        self, address: int, action: Callable[[], object] = lambda: None, timeout: float = 120.0
    ) -> Iterator[Stop]:
        """Break at `address` while `action` (a guest command) runs in a thread: a stop can
        come before the command's answer, which then waits for the resume."""
        bp = self.debugger.break_at(hex(address))
        errors: list[BaseException] = []

        def act() -> None:
            try:
                action()
            except BaseException as e:  # re-raised in the test's thread
                errors.append(e)

        worker = threading.Thread(target=act, daemon=True)
        self.debugger.resume()
        worker.start()
        try:
            yield self.debugger.wait_break(timeout)
        finally:
            self.debugger.clear(bp)
            self.debugger.resume()
            worker.join(timeout)
        if errors:
            raise errors[0]

    def detach(self) -> None:
        self.debugger.detach()
