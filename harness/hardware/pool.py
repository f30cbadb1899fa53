"""The hardware backend: `HardwarePool` leases rack machines from an inventory, `HardwareMachine`
powers one through its BMC and reads its network console.

A rack machine has no snapshots: it comes back clean by a reboot (`Resets`), and one that fails
its health check is taken out of the pool (`Health`, harness.hardware.health). Its SSH server
and host key are in the inventory (`Endpoint`). Leases are the libvirt pool's (an exclusive
flock per machine, dropped by the kernel when the holder dies), keyed by the machine's name,
so one machine is never in two runs even when two inventories list it.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from harness.errors import (
    ConfigError,
    GuestBootError,
    HarnessError,
    HarnessTimeoutError,
    InfrastructureError,
)
from harness.hardware import health
from harness.hardware.bmc import BmcCalls, open_bmc
from harness.hardware.inventory import HardwarePoolConfig, MachineEntry
from harness.hardware.netconsole import ConsolePump, SolPump, TcpPump
from harness.vm.console import ConsoleLog
from harness.vm.lease import Lease, try_slot

__all__ = ["HardwareMachine", "HardwarePool"]

log = logging.getLogger(__name__)
_POWER_POLL = 0.5
_POWER_OFF_WAIT = 120.0  # seconds a forced power-off may take to show (a slow BMC)
_LEASE_POLL = 0.5


class HardwareMachine:
    """One leased rack machine. Implements Machine, Resets, Health and Endpoint."""

    def __init__(self, config: HardwarePoolConfig, entry: MachineEntry, lease: Lease) -> None:
        self.name = entry.name
        self.entry = entry
        self.config = config
        self.dir = config.state / "hardware" / "machines" / entry.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.console = ConsoleLog(self.dir / "console.log", self.name)
        self.reset_every = config.reset.every
        self.dump_path = entry.dump_path
        self.expected_build = entry.capabilities.build
        self._lease = lease
        self._bmc: BmcCalls | None = None
        self._pump: ConsolePump | None = None

    # -- the BMC and the console, opened on first use ------------------------------------
    def _password(self) -> str:
        from harness.lab.config import secret

        b = self.entry.bmc
        value = secret(
            b.password_env,
            b.password_file,
            f"machine {self.name}: field bmc.password_env/password_file",
            self.config.source,
        )
        if not value:
            raise ConfigError(
                f"{self.config.source}: machine {self.name}: the BMC password "
                "is empty; fix: set the variable or file it names"
            )
        return value

    @property
    def bmc(self) -> BmcCalls:
        if self._bmc is None:
            self._bmc = open_bmc(self.entry, self.config.bmc, self._password())
        return self._bmc

    def _console_pump(self) -> ConsolePump:
        if self._pump is None:
            path = self.console.path
            address = self.entry.console_address
            if address is None:
                from urllib.parse import urlsplit

                url = urlsplit(self.entry.bmc.url)
                self._pump = SolPump(
                    self.name,
                    url.hostname or "",
                    url.port or 623,
                    self.entry.bmc.user,
                    self._password(),
                    path,
                )
            else:
                self._pump = TcpPump(self.name, *address, path)
        self._pump.start()
        return self._pump

    # -- Machine ---------------------------------------------------------------------------
    def start(self) -> None:
        """Power on from off (a machine found on is powered off first: a fresh boot), booting
        once from the configured device."""
        pump = self._console_pump()
        if self.bmc.power_state() == "on":
            self.bmc.power("off")
            self._wait_power("off", _POWER_OFF_WAIT)
        self.console.mark()
        device = self.entry.boot_device or self.config.boot_device
        if device != "none":
            self.bmc.boot_once(device)
        self.bmc.power("on")
        pump.start()  # a pump stopped by release() reads again

    def boot(self, timeout: float | None = None) -> float:
        """Power-cycle and wait for the marker; a failure takes the machine out of the pool."""
        wait = timeout or self.config.boot_timeout
        began = time.monotonic()
        try:
            self.start()
            self._console_pump().wait_connected(min(self.config.console_timeout, wait))
            if self.config.boot_marker:
                left = max(wait - (time.monotonic() - began), 1.0)
                self._wait_marker(left)
        except ConfigError:
            raise  # the inventory is wrong, not the machine: fix it, nothing to retire
        except InfrastructureError as e:
            self.retire(str(e))
            raise
        return time.monotonic() - began

    def _wait_marker(self, timeout: float) -> None:
        try:
            self.console.wait_for(self.config.boot_marker, timeout)
        except HarnessTimeoutError as e:
            raise GuestBootError(
                f"{self.name} powered on (its BMC says so) but never printed its ready marker: {e}"
            ) from None

    def reset(self) -> float:
        """The reset policy's reboot: power cycle, then the marker. Returns the seconds."""
        return self.boot()

    def shutdown(self, timeout: float = 60.0) -> None:
        if not self.is_running():
            return
        try:
            self.bmc.power("soft-off")
            self._wait_power("off", timeout)
        except InfrastructureError:
            self.destroy()

    def destroy(self) -> None:
        if self.is_running():
            self.bmc.power("off")
            self._wait_power("off", _POWER_OFF_WAIT)

    def is_running(self) -> bool:
        return self.bmc.power_state() == "on"

    def _wait_power(self, state: Literal["on", "off"], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.bmc.power_state() != state:
            if time.monotonic() > deadline:
                raise InfrastructureError(
                    f"{self.name}: the BMC at {self.entry.bmc.url} still "
                    f"reports power {_other(state)} {timeout:g} s after "
                    f"power {state}"
                )
            time.sleep(_POWER_POLL)

    def release(self) -> None:
        """Stop reading the console, power off (off_at_release), free the lease; idempotent."""
        try:
            if self._pump is not None:
                self._pump.stop()
            if self.config.off_at_release and self._bmc is not None:
                self.destroy()
        except HarnessError as e:
            log.warning("%s: left powered at release: %s", self.name, e)
        finally:
            if self._bmc is not None:
                self._bmc.close()
            self._lease.release()

    # -- Health, Endpoint ----------------------------------------------------------------
    def retire(self, reason: str) -> None:
        """Take this machine out of the pool until a person removes its health record."""
        health.retire(self.config.state, self.name, reason)
        log.warning("%s: out of the pool: %s", self.name, reason)

    def ssh_endpoint(self) -> tuple[str, int, str]:
        ssh = self.entry.ssh
        return ssh.host, ssh.port, ssh.host_key


def _other(state: str) -> str:
    return "off" if state == "on" else "on"


class HardwarePool:
    """Rack machines of one inventory. See harness.vm.Pool."""

    def __init__(self, config: HardwarePoolConfig, run_id: str | None = None) -> None:
        self.name = config.name
        self.config = config
        self._machines: list[HardwareMachine] = []

    def lease(self, timeout: float = 600.0) -> HardwareMachine:
        """The first healthy machine nobody holds; a pool whose machines are all out of it
        fails at once, naming each and why."""
        deadline = time.monotonic() + timeout
        locks = self.config.state / "hardware" / "leases"
        while True:
            out: list[health.Retired] = []
            for entry in self.config.machine:
                record = health.read(self.config.state, entry.name)
                if record is not None:
                    out.append(record)
                    continue
                lease = try_slot(locks, f"hw-{entry.name}", 0)
                if lease is None:
                    continue
                machine = HardwareMachine(self.config, entry, lease)
                self._machines.append(machine)
                return machine
            if len(out) == len(self.config.machine):
                raise InfrastructureError(self._all_out(out))
            if time.monotonic() >= deadline:
                raise HarnessTimeoutError(
                    f"pool {self.name}: every healthy machine stayed leased for {timeout:g} s; "
                    "wait for the other runs or add machines to the inventory"
                )
            time.sleep(_LEASE_POLL)

    def _all_out(self, out: list[health.Retired]) -> str:
        where = health.retired_dir(self.config.state)
        listed = "; ".join(f"{r.machine} ({r.reason}, since {r.time or '?'})" for r in out)
        return (
            f"pool {self.name}: every machine is out of the pool: {listed}; fix them, then "
            f"remove their records from {where}"
        )

    def leased(self) -> list[HardwareMachine]:
        return list(self._machines)

    def close(self) -> None:
        while self._machines:
            self._machines.pop().release()

    def __enter__(self) -> HardwarePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
