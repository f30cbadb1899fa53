"""Linux kernel modules in a guest over a command transport (SSH): `insmod` and `rmmod`
with the kernel's own reason when it refuses, so a module built for another kernel reads
as "built for another kernel: the kernel says hsproxy: version magic ... should be ...",
not as busybox's "invalid module format".

The reason comes from the kernel log: insmod only sees an errno, the kernel logs why
(`MODULE: version magic '...' should be '...'`, `MODULE: disagrees about version of symbol
S`, `MODULE: Unknown symbol S`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import Protocol

from harness.errors import InfrastructureError, InputError

__all__ = ["CommandRunner", "explain_load_failure", "insmod", "module_name", "rmmod"]

_DMESG_TAIL = 40


class Result(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def stdout(self) -> bytes: ...

    @property
    def stderr(self) -> bytes: ...


class CommandRunner(Protocol):
    """What runs a command in the guest (SshTransport is one)."""

    def run(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        check: bool = True,
        stdin: bytes = b"",
    ) -> Result: ...


def module_name(path: str) -> str:
    """The kernel's name for a module file: basename without .ko, '-' as '_'."""
    return posixpath.basename(path).removesuffix(".ko").replace("-", "_")


def _kernel_says(dmesg: str, name: str) -> str:
    """The last kernel log lines about module `name` (timestamps dropped)."""
    lines = [re.sub(r"^\[\s*[\d.]+\]\s*", "", line) for line in dmesg.splitlines()]
    ours = [line for line in lines if line.startswith(f"{name}: ")]
    return "; ".join(dict.fromkeys(ours[-3:]))  # repeated lines once, in order


def explain_load_failure(path: str, status: int, stderr: str, dmesg: str) -> Exception:
    """The error for an insmod of `path` that exited `status` with `stderr`, given the
    kernel log after it."""
    name = module_name(path)
    said = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {status}"
    kernel = _kernel_says(dmesg, name)
    because = f": the kernel says {kernel}" if kernel else ""
    lowered = said.lower()
    if "invalid module format" in lowered or "exec format error" in lowered:
        return InputError(
            f"{path} was built for another kernel{because}; rebuild it against "
            "the guest's kernel (make -C drivers linux) and rebuild the image"
        )
    if "can't read" in lowered or ("no such file" in lowered and not kernel):
        return InfrastructureError(
            f"the guest has no {path} ({said}); rebuild the guest "
            "image with the drivers in it (vm/standin/build)"
        )
    if "file exists" in lowered:
        return InfrastructureError(
            f"{name} is loaded already; unload it first (rmmod {name}) "
            "or revert the guest to a snapshot without it"
        )
    if "unknown symbol" in lowered or "unknown symbol" in kernel.lower():
        return InfrastructureError(
            f"{path} needs symbols no loaded module exports{because}; "
            "load the modules it depends on first (hsproxy before "
            "hsprobe)"
        )
    return InfrastructureError(f"insmod {path} failed ({said}){because}")


def insmod(
    runner: CommandRunner, path: str, params: Sequence[str] = (), timeout: float | None = None
) -> None:
    """Load the module file `path` in the guest with `params` (NAME=VALUE)."""
    done = runner.run(["insmod", path, *params], timeout=timeout, check=False)
    if done.status == 0:
        return
    log = runner.run(["dmesg"], timeout=timeout, check=False).stdout.decode(errors="replace")
    tail = "\n".join(log.splitlines()[-_DMESG_TAIL:])
    raise explain_load_failure(path, done.status, done.stderr.decode(errors="replace"), tail)


def rmmod(runner: CommandRunner, name: str, timeout: float | None = None) -> None:
    """Unload module `name`; an error names what the kernel answered."""
    done = runner.run(["rmmod", name], timeout=timeout, check=False)
    if done.status != 0:
        said = done.stderr.decode(errors="replace").strip() or f"exit status {done.status}"
        raise InfrastructureError(f"rmmod {name} failed: {said}")
