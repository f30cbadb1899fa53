"""IPMI BMCs through `pyghmi` (IPMI 2.0 over LAN, RMCP+): chassis power and the one-time boot
device. One session per BMC and process, kept alive by pyghmi; a call that fails drops it, so
the next call logs in afresh (a BMC that rebooted forgot the session). pyghmi keeps sessions
in a process-wide cache keyed by BMC and credentials and, measured with 1.6.19, a second
`Command` for a BMC whose session is still alive in that cache waits forever for a login that
never comes, and a session ended by `logout()` is handed back to the next login as if alive:
so the `Command` itself is kept here, process-wide, never logged out, and ends with the
process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pyghmi import exceptions as px
from pyghmi.ipmi import command

from harness.errors import InfrastructureError
from harness.hardware.bmc import PowerAction, Transient, refused
from harness.hardware.inventory import BmcSettings, MachineEntry

__all__ = ["IpmiBmc"]

T = TypeVar("T")
_commands: dict[tuple[str, int, str, str], Any] = {}
_lock = threading.Lock()
_POWER = {"on": "on", "off": "off", "soft-off": "shutdown"}
_BOOT = {"hdd": "hd", "pxe": "network", "cd": "optical"}
#: what pyghmi says when the BMC turns the login down (its IpmiException text)
_REFUSED = ("password", "unauthorized", "invalid user", "privilege")


class IpmiBmc:
    def __init__(self, entry: MachineEntry, settings: BmcSettings, password: str) -> None:
        url = urlsplit(entry.bmc.url)
        self._entry = entry
        self._host = url.hostname or ""
        self._port = url.port or 623
        self._password = password

    def _session(self, what: str, fn: Callable[[Any], T]) -> T:
        key = (self._host, self._port, self._entry.bmc.user, self._password)
        with _lock:
            ipmi = _commands.get(key)
        if ipmi is None:
            try:
                ipmi = command.Command(
                    bmc=self._host,
                    userid=self._entry.bmc.user,
                    password=self._password,
                    port=self._port,
                )
            except px.IpmiException as error:
                raise self._translate(error, f"logging in for {what}") from None
            with _lock:
                _commands[key] = ipmi
        try:
            return fn(ipmi)
        except px.IpmiException as error:
            with _lock:
                _commands.pop(key, None)
            raise self._translate(error, what) from None

    def _translate(self, error: Exception, what: str) -> Exception:
        text = " ".join(str(error).split())[:300] or type(error).__name__
        if any(word in text.lower() for word in _REFUSED):
            return refused(self._entry.name, self._entry.bmc.url, "IPMI", self._entry.bmc.user)
        if "timeout" in text.lower() or "session" in text.lower():
            return Transient(f"{what}: {text}")
        return InfrastructureError(
            f"{self._entry.name}: the IPMI BMC at {self._entry.bmc.url}: {what} failed: {text}"
        )

    def power_state(self) -> Literal["on", "off"]:
        state = self._session("reading the power state", lambda i: i.get_power())
        return "on" if state.get("powerstate") == "on" else "off"

    def power(self, action: PowerAction) -> None:
        self._session(f"power {action}", lambda i: i.set_power(_POWER[action], wait=False))

    def boot_once(self, device: Literal["hdd", "pxe", "cd"]) -> None:
        self._session(
            f"setting the boot device {device}",
            lambda i: i.set_bootdev(_BOOT[device], persist=False),
        )

    def close(self) -> None:
        return None  # the session stays in the process-wide cache (see the module docstring)
