"""Baseboard management controllers: power and one-time boot device of a rack machine, through
Redfish (`sushy`) or IPMI (`pyghmi`), every call bounded in time and retried a bounded number
of times, so a BMC that stops answering is an infrastructure error within
`timeout * (retries + 1)` plus the pauses between tries, never a hung run.

A backend turns its library's failures into three kinds: `Transient` (a timeout, a refused
or dropped connection: tried again), `ConfigError` (a wrong password, a URL that is not that
kind of BMC, an unknown system: never tried again, the inventory must be fixed) and
`InfrastructureError` (the BMC refused an action it should do).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from harness.errors import BackendUnavailableError, ConfigError, InfrastructureError
from harness.hardware.inventory import BmcSettings, MachineEntry

__all__ = ["Bmc", "BmcCalls", "PowerAction", "Transient", "open_bmc", "refused"]

PowerAction = Literal["on", "off", "soft-off"]
T = TypeVar("T")
_PAUSE = (0.5, 1.0, 2.0)
"""Seconds between tries (the last repeats): a BMC that just rebooted itself needs a moment."""


class Transient(Exception):
    """A failure worth another try: the BMC did not answer, or the connection broke."""


class Bmc(Protocol):
    """One machine's BMC, as the pool uses it. Methods may block: `BmcCalls` bounds them."""

    def power_state(self) -> Literal["on", "off"]:
        """The chassis power state (a transition in progress reads as where it goes)."""
        ...

    def power(self, action: PowerAction) -> None:
        """Power on, off at once, or ask the OS to shut down (soft-off)."""
        ...

    def boot_once(self, device: Literal["hdd", "pxe", "cd"]) -> None:
        """Boot from `device` at the next power-on only."""
        ...

    def close(self) -> None: ...


class BmcCalls:
    """A BMC whose every call is bounded and retried; failures name the machine and the BMC
    but never the credentials."""

    def __init__(self, machine: str, url: str, bmc: Bmc, settings: BmcSettings) -> None:
        self.machine, self.url, self.settings = machine, url, settings
        self._bmc = bmc

    def call(self, what: str, fn: Callable[[Bmc], T]) -> T:
        tries = self.settings.retries + 1
        last = ""
        for attempt in range(tries):
            try:
                return _within(lambda: fn(self._bmc), self.settings.timeout)
            except TimeoutError:
                last = f"no answer within {self.settings.timeout:g} s"
            except Transient as e:
                last = str(e)
            if attempt + 1 < tries:
                time.sleep(_PAUSE[min(attempt, len(_PAUSE) - 1)])
        raise InfrastructureError(
            f"{self.machine}: the BMC at {self.url} failed {what} {tries} time(s): {last}; "
            "check that the BMC is up and reachable from this host"
        )

    def power_state(self) -> Literal["on", "off"]:
        return self.call("reading the power state", lambda b: b.power_state())

    def power(self, action: PowerAction) -> None:
        self.call(f"power {action}", lambda b: b.power(action))

    def boot_once(self, device: Literal["hdd", "pxe", "cd"]) -> None:
        self.call(f"setting the one-time boot device {device}", lambda b: b.boot_once(device))

    def close(self) -> None:
        # closing a dead BMC's session: nothing left to do
        with contextlib.suppress(TimeoutError, Transient, InfrastructureError):
            _within(self._bmc.close, self.settings.timeout)


def _within(fn: Callable[[], T], timeout: float) -> T:
    """`fn()` in a daemon thread, given up after `timeout` seconds (TimeoutError): BMC
    libraries block in sockets with their own, longer, notions of patience."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # handed to the caller below
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=run, name="bmc call", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def open_bmc(entry: MachineEntry, settings: BmcSettings, password: str) -> BmcCalls:
    """The bounded BMC of `entry` (its library imported now: the `hardware` extra)."""
    try:
        if entry.bmc.kind == "redfish":
            from harness.hardware.redfish import RedfishBmc

            bmc: Bmc = RedfishBmc(entry, settings, password)
        else:
            from harness.hardware.ipmi import IpmiBmc

            bmc = IpmiBmc(entry, settings, password)
    except ImportError as e:
        raise BackendUnavailableError(
            f"the {entry.bmc.kind} BMC needs {e.name}: install the hardware extra "
            "(pip install 'hotswap-harness[hardware]')"
        ) from None
    return BmcCalls(entry.name, entry.bmc.url, bmc, settings)


def refused(machine: str, url: str, kind: str, user: str) -> ConfigError:
    """The BMC said no to the credentials (the message names where they came from, not them)."""
    return ConfigError(
        f"{machine}: the {kind} BMC at {url} refused user {user!r} and its "
        "password; fix: check bmc.user and the password its password_env / "
        "password_file names"
    )
