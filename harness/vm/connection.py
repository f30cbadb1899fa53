"""The libvirt connection: imported lazily (the vm extra), opened with one clear error when
the URI is unreachable, every call on it bounded in time (harness/vm/bounded.py), and
libvirt's exceptions turned into InfrastructureError."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

from harness.errors import BackendUnavailableError, InfrastructureError
from harness.vm.bounded import Bounded, Guard

__all__ = ["DEFAULT_TIMEOUT", "import_libvirt", "libvirt_errors", "open_connection"]

DEFAULT_TIMEOUT = 120.0
"""Seconds one libvirt call may take (PoolConfig.libvirt_timeout's default)."""


def import_libvirt() -> Any:
    """The libvirt module, or BackendUnavailableError saying which extra to install."""
    try:
        return importlib.import_module("libvirt")
    except ImportError:
        raise BackendUnavailableError(
            "the libvirt backend needs libvirt-python: install the vm extra: pip install -e '.[vm]'"
        ) from None


def _quiet(_ctx: object, _err: object) -> None:
    """libvirt prints every error to stderr by default; we report them ourselves."""


def open_connection(uri: str, timeout: float = DEFAULT_TIMEOUT) -> Bounded:
    """An open libvirt connection to `uri` whose every call (opening it, too) takes at most
    `timeout` seconds, or raises HarnessTimeoutError."""
    libvirt = import_libvirt()
    libvirt.registerErrorHandler(_quiet, None)
    try:
        conn: Bounded = Guard(uri, timeout).call("open", libvirt.open, uri)
        return conn
    except libvirt.libvirtError as e:
        raise InfrastructureError(
            f"cannot connect to libvirt at {uri}: {e.get_error_message()}; is libvirtd "
            "running? (scripts/setup-host --services starts it)"
        ) from None


@contextlib.contextmanager
def libvirt_errors(what: str) -> Iterator[None]:
    """Turn a libvirtError raised inside into InfrastructureError('WHAT: message')."""
    libvirt = import_libvirt()
    try:
        yield
    except libvirt.libvirtError as e:
        raise InfrastructureError(f"{what}: {e.get_error_message()}") from None
