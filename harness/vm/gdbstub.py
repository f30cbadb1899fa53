"""QEMU's gdbstub on a loopback port chosen at run time: asked of the kernel (bind to port
0), never fixed, so concurrent runs and other engineers' guests never collide."""

from __future__ import annotations

import errno
import socket
from typing import Any

from harness.errors import ConfigError, InfrastructureError
from harness.vm.monitor import hmp

__all__ = ["HOST", "check_free", "free_port", "open_stub"]

HOST = "127.0.0.1"
_ATTEMPTS = 3


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def check_free(port: int) -> None:
    """ConfigError if `port` is not 1-65535 or cannot be bound on loopback."""
    if not 1 <= port <= 65535:
        raise ConfigError(
            f"gdbstub port {port} is out of range; use 1-65535, or pass none "
            "to let the harness pick a free one"
        )
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError as e:
            why = "is busy" if e.errno == errno.EADDRINUSE else f"cannot be used ({e.strerror})"
            raise ConfigError(
                f"gdbstub port {HOST}:{port} {why}; choose another port or "
                "pass none to let the harness pick a free one"
            ) from None


def open_stub(domain: Any, port: int | None, machine: str) -> tuple[str, int]:
    """Start the gdbstub of a running domain; returns (host, port)."""
    if port is not None:
        check_free(port)
        hmp(domain, f"gdbserver tcp:{HOST}:{port}", machine)
        return HOST, port
    # a free port can be taken between our probe and QEMU's bind: try a few
    for attempt in range(_ATTEMPTS):
        chosen = free_port()
        try:
            hmp(domain, f"gdbserver tcp:{HOST}:{chosen}", machine)
            return HOST, chosen
        except InfrastructureError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
