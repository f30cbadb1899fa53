"""Redfish BMCs through `sushy`, the OpenStack Redfish client: the ComputerSystem's
PowerState, its Reset action and a one-time BootSourceOverride.

HTTP basic authentication on every request (no session token to expire mid-run); sushy's own
server-side retries are off, `BmcCalls` retries instead, within its bounds.
"""

from __future__ import annotations

from typing import Any, Literal

import sushy
from sushy import exceptions as sx
from sushy.auth import BasicAuth

from harness.errors import ConfigError, InfrastructureError
from harness.hardware.bmc import PowerAction, Transient, refused
from harness.hardware.inventory import BmcSettings, MachineEntry

__all__ = ["RedfishBmc"]

_RESET = {
    "on": sushy.ResetType.ON,
    "off": sushy.ResetType.FORCE_OFF,
    "soft-off": sushy.ResetType.GRACEFUL_SHUTDOWN,
}
_BOOT = {"hdd": sushy.BootSource.HDD, "pxe": sushy.BootSource.PXE, "cd": sushy.BootSource.CD}


class RedfishBmc:
    """One ComputerSystem of a Redfish service."""

    def __init__(self, entry: MachineEntry, settings: BmcSettings, password: str) -> None:
        self._entry = entry
        self._settings = settings
        self._password = password
        self._root: Any = None
        self._system_path: str | None = None

    def _where(self) -> str:
        return f"{self._entry.name}: the Redfish BMC at {self._entry.bmc.url}"

    def _connect(self) -> Any:
        """The service root, fetched once (it is what tells a Redfish service from anything
        else listening at that URL)."""
        if self._root is None:
            url, b = self._entry.bmc.url, self._entry.bmc
            with self._failures("reading the service root /redfish/v1/"):
                self._root = sushy.Sushy(
                    url,
                    verify=b.verify_tls,
                    auth=BasicAuth(b.user, self._password),
                    server_side_retries=0,
                    read_timeout=self._settings.timeout,
                    connect_timeout=self._settings.timeout,
                )
        return self._root

    def _system(self) -> Any:
        root = self._connect()
        with self._failures("reading its systems"):
            if self._system_path is None:
                members = root.get_system_collection().members_identities
                self._system_path = self._pick(list(members))
            return root.get_system(self._system_path)

    def _pick(self, members: list[str]) -> str:
        wanted = self._entry.bmc.system
        if wanted is None:
            if len(members) != 1:
                raise ConfigError(
                    f"{self._where()} has {len(members)} systems; fix: name one "
                    f"with bmc.system (one of {_ids(members)})"
                )
            return members[0]
        for path in members:
            if path.rstrip("/").rsplit("/", 1)[-1] == wanted:
                return path
        raise ConfigError(
            f"{self._where()} has no system {wanted!r}; fix: set bmc.system to "
            f"one of {_ids(members)}"
        )

    def power_state(self) -> Literal["on", "off"]:
        state = self._system().power_state
        return "on" if state in (sushy.PowerState.ON, sushy.PowerState.POWERING_ON) else "off"

    def power(self, action: PowerAction) -> None:
        system = self._system()
        with self._failures(f"the Reset action ({_RESET[action].value})"):
            system.reset_system(_RESET[action])

    def boot_once(self, device: Literal["hdd", "pxe", "cd"]) -> None:
        system = self._system()
        with self._failures(f"setting the boot source override to {device}"):
            system.set_system_boot_options(
                target=_BOOT[device], enabled=sushy.BootSourceOverrideEnabled.ONCE
            )

    def close(self) -> None:
        self._root = None  # basic auth: no session to log out of

    def _failures(self, what: str) -> _Failures:
        return _Failures(self, what)


class _Failures:
    """sushy's exceptions while doing `what`, as the three kinds BmcCalls knows."""

    def __init__(self, bmc: RedfishBmc, what: str) -> None:
        self.bmc, self.what = bmc, what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: object
    ) -> None:
        if e is None or isinstance(e, ConfigError | InfrastructureError):
            return
        entry = self.bmc._entry
        where = self.bmc._where()
        if isinstance(e, sx.AccessError):
            raise refused(entry.name, entry.bmc.url, "Redfish", entry.bmc.user) from None
        if isinstance(e, sx.ConnectionError):
            raise Transient(f"{self.what}: cannot connect ({_short(e)})") from None
        if isinstance(e, sx.ServerSideError):
            raise Transient(f"{self.what}: the BMC answered {_short(e)}") from None
        if self.bmc._root is None or isinstance(e, sx.MissingAttributeError | ValueError):
            raise ConfigError(
                f"{where} is not a Redfish service: {self.what} failed "
                f"({_short(e)}); fix: point bmc.url at the BMC's Redfish "
                "service (https://HOST, which serves /redfish/v1/)"
            ) from None
        if isinstance(e, sx.SushyError):
            raise InfrastructureError(f"{where}: {self.what} failed: {_short(e)}") from None


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:300]


def _ids(members: list[str]) -> str:
    return ", ".join(m.rstrip("/").rsplit("/", 1)[-1] for m in members) or "none"
