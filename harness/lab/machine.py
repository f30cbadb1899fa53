"""`LabMachine`: one leased guest made ready for scenarios, and brought back after each.

Preparing a machine (once per driver configuration): boot, find its address, log in, take
out whatever driver is loaded, check that every artifact in the guest has the manifest's
sha256 (a mismatch is refused), load version 1 with version 2 available, record the guest
build, and save the running state as a snapshot. Each scenario then starts from that
snapshot: `loadvm`, reconnect (an SSH channel; the guest agent needs none), one
`hsprobectl query` to see version 1 answer.

A machine without snapshots (a rack machine, `Resets`) follows its pool's reset policy
instead (harness.lab.reset): a reboot and the same preparation again every N scenarios, the
driver reloaded between the scenarios of one boot, and a reboot at once after a failure or a
crash. Such a machine that fails its health check on the way (does not come back, boots
another build than its inventory says, will not load the driver) is taken out of its pool.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import msgspec

from harness.errors import ConfigError, GuestBootError, InfrastructureError
from harness.lab.channel import AgentChannel, Channel, GuestChannel
from harness.lab.config import DriverConfig, LabConfig
from harness.lab.manifest import driver_hashes
from harness.lab.probe import PORT, ProbeClient, ServedChannel
from harness.lab.profile import GuestProfile, Step
from harness.lab.reset import BootGroup
from harness.lab.tool import DriverInfo, decode_info
from harness.vm import Agent, Endpoint, Forwards, Health, Resets, Snapshots

__all__ = ["LabMachine", "Prepared"]


class Prepared(msgspec.Struct, frozen=True, kw_only=True):
    """A ready snapshot and what was true when it was taken."""

    snapshot: str
    guest_build: str
    driver: dict[str, str]
    """Artifact file -> sha256 of the file in the guest (equal to the manifest's)."""
    setting: DriverConfig | None = None
    """The driver settings it was prepared with (a machine without snapshots reloads them)."""


def snapshot_name(base: str, driver: DriverConfig, default: DriverConfig) -> str:
    """`ready` for the config's own driver settings, `ready-<digest>` for another."""
    if driver == default:
        return base
    digest = hashlib.sha256(msgspec.json.encode(driver)).hexdigest()[:10]
    return f"{base}-{digest}"


class LabMachine:
    """A leased machine, its channel, and the snapshots prepared on it."""

    def __init__(self, config: LabConfig, profile: GuestProfile, machine: Any) -> None:
        self.config = config
        self.profile = profile
        self.machine = machine
        self.channel: Channel | None = None
        self.prepared: dict[str, Prepared] = {}
        self.host: str | None = None
        #: what stays true while this machine runs one kernel (e.g. its debugger layout)
        self.cache: dict[str, Any] = {}
        #: the reset policy's count, on a machine without snapshots (None: it reverts)
        self.group = (
            BootGroup(machine.reset_every)
            if isinstance(machine, Resets) and not isinstance(machine, Snapshots)
            else None
        )

    @property
    def name(self) -> str:
        return str(self.machine.name)

    # -- bring-up ---------------------------------------------------------------------
    def boot(self) -> None:
        self.machine.boot()
        self._connect()

    def _connect(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.config.channel == "agent":
            if not isinstance(self.machine, Agent):
                raise ConfigError(
                    f"{self.config.source}: field channel: {self.name} has no QEMU guest agent "
                    'to reach; fix: use channel = "ssh"'
                )
            self.channel = AgentChannel(self.config, self.machine, self.name)
        else:
            self.host, port, host_key = self._address()
            self.channel = GuestChannel(self.config, self.host, port, host_key)
        self.channel.connect(self.config.timeouts.ready)

    def _address(self) -> tuple[str, int, str | None]:
        """Where the guest's SSH server is, and its pinned key when the machine has its own:
        a rack machine's inventory entry, a loopback forward into a user-mode NIC (the
        stand-in's), else the address libvirt knows, else ssh.host as configured."""
        port = self.config.ssh.port
        if isinstance(self.machine, Endpoint):
            return self.machine.ssh_endpoint()
        if self.config.ssh.host != "auto":
            return self.config.ssh.host, port, None
        if isinstance(self.machine, Forwards):
            try:
                host, forwarded = self.machine.forward(port)
                return host, forwarded, None
            except InfrastructureError:  # no user-mode NIC: a bridged or NAT network
                pass
        return self._leased_address(), port, None

    def _leased_address(self) -> str:
        deadline = time.monotonic() + self.config.timeouts.ready
        while time.monotonic() < deadline:
            found = self.machine.addresses()
            if found:
                return str(found[0])
            if not self.machine.is_running():
                raise GuestBootError(f"{self.name} stopped before it had a network address")
            time.sleep(0.5)
        raise InfrastructureError(
            f"{self.name} has no address on its libvirt network after "
            f"{self.config.timeouts.ready:g} s; check the pool's network and the guest's DHCP "
            "client, or set ssh.host"
        )

    def prepare(self, driver: DriverConfig) -> Prepared:
        """Load the driver as `driver` says and save the ready snapshot (once per setting).
        A machine that fails on the way is taken out of its pool when it can be."""
        name = snapshot_name(self.config.snapshot, driver, self.config.driver)
        if name in self.prepared:
            return self.prepared[name]
        try:
            return self._prepare(name, driver)
        except InfrastructureError as e:
            self._unhealthy(str(e))
            raise

    def _prepare(self, name: str, driver: DriverConfig) -> Prepared:
        if self.channel is None:
            self.boot()
        elif self.prepared and self.group is not None:
            self._reboot()  # nothing to revert to: boot again for another setting
        elif self.prepared:  # another setting was loaded last: start from the booted state
            self.revert(next(iter(self.prepared.values())).snapshot, reconnect=True)
        hashes = self._verify_and_install(driver)
        self._steps(self.profile.remove())
        self._steps(self.profile.load(driver))
        self._loaded()
        self._serve()
        out = self._run(self.profile.build_command()).stdout.decode(errors="replace")
        build = self.profile.parse_build(out)
        self._check_build(build)
        if self.group is None:
            self.machine.snapshot(name)
        else:
            self.prepared.clear()  # a reboot forgot every other setting
            self.group.fresh()
        prepared = Prepared(snapshot=name, guest_build=build, driver=hashes, setting=driver)
        self.prepared[name] = prepared
        return prepared

    def _serve(self) -> None:
        """Start the resident hsprobectl where the machine has its port (the stand-in's
        template) and the profile a resident mode, and send hsprobectl commands to it from
        now on; it is in the snapshot taken next, so every revert has it waiting. Elsewhere
        each command stays a process of its own."""
        path = getattr(self.machine, "probe_socket", None)
        step = self.profile.serve(PORT)
        if step is None or path is None or not Path(path).exists():
            return
        channel = self._channel()
        self._steps([step])
        if isinstance(channel, ServedChannel):  # another driver setting, the same QEMU
            served = channel  # (its socket takes one connection: keep the one there is)
        else:
            probe = ProbeClient(path, self.name, self.config.timeouts.command)
            served = ServedChannel(channel, self.profile.command(), probe)
        # its first answer (it may still be opening its port): the same as a process's
        if served.run(self.profile.command("query"), timeout=15.0).status != 0:
            served.probe.close()
            raise InfrastructureError(f"{self.name}: the resident hsprobectl fails `query`")
        self.channel = served

    def _loaded(self) -> DriverInfo:
        """What `hsprobectl query` says, checked to be version 1 alone."""
        info = self.query()
        if info.image_version != 1 or 1 not in info.loaded_versions:
            raise InfrastructureError(
                f"{self.name}: after loading, hsprobectl query shows image {info.image_version} "
                f"with versions {list(info.loaded_versions)} loaded; expected version 1 alone"
            )
        return info

    def _check_build(self, build: str) -> None:
        expected = self.machine.expected_build if isinstance(self.machine, Health) else None
        if expected and not build.startswith(expected):
            raise InfrastructureError(
                f"{self.name} booted build {build!r}, its inventory says {expected!r}; the "
                "machine was reimaged or booted the wrong disk"
            )

    def _unhealthy(self, reason: str) -> None:
        if isinstance(self.machine, Health):
            self.machine.retire(reason)

    def _verify_and_install(self, driver: DriverConfig) -> dict[str, str]:
        channel = self._channel()
        expected = driver_hashes(Path(driver.dist), list(self.profile.files), self.config.source)
        found: dict[str, str] = {}
        if driver.install:
            self._steps([self.profile.mkdir()])
        for file, remote in self.profile.files.items():
            if driver.install:
                channel.put(Path(driver.dist) / file, self.profile.sftp_path(remote))
            try:
                found[file] = channel.sha256(self.profile.sftp_path(remote))
            except InfrastructureError:
                raise InfrastructureError(
                    f"{self.name}: the guest has no {remote} (the driver is not in the guest); "
                    "fix: rebuild the guest image with the driver, or set driver.install = true "
                    "in the lab config"
                ) from None
            if found[file] != expected[file]:
                raise ConfigError(
                    f"{self.name}: {remote} has sha256 {found[file][:16]}..., the manifest "
                    f"{driver.dist}/manifest.json says {expected[file][:16]}...; refusing to "
                    "load a driver that is not the build under test; fix: rebuild the guest "
                    "image from this build, or set driver.install = true"
                )
        return found

    def _steps(self, steps: list[Step]) -> None:
        for step in steps:
            result = self._run(step.argv)
            why = self.profile.check(
                step,
                result.status,
                result.stdout.decode(errors="replace"),
                result.stderr.decode(errors="replace"),
                self._run,
            )
            if why is not None and not step.optional:
                raise InfrastructureError(f"{self.name}: {why}")

    # -- per scenario -----------------------------------------------------------------
    def revert(self, snapshot: str, *, reconnect: bool = True) -> float:
        """Back to `snapshot`, running, and reconnected; returns the seconds it took."""
        began = time.monotonic()
        channel = self._channel()
        channel.drop()
        self.machine.revert(snapshot)
        if reconnect and not channel.survives_revert:
            channel.connect(self.config.timeouts.ready)
        return time.monotonic() - began

    def recover(self, snapshot: str) -> None:
        """Back to `snapshot` after a crash or a hang (starting QEMU again if it stopped); a
        machine without snapshots is rebooted and prepared again at once."""
        if self.group is not None:
            prepared = self.prepared.get(snapshot)
            self._reset(prepared.setting if prepared else None)
            return
        if not self.machine.is_running():
            self.machine.start()
        self.revert(snapshot)

    # -- the reset policy (machines without snapshots) ---------------------------------------
    def begin(self, prepared: Prepared) -> float:
        """Ready for one scenario: the snapshot reverted, or on a machine without snapshots a
        reboot when the policy says so, else the driver reloaded. Returns the seconds."""
        if self.group is None:
            return self.revert(prepared.snapshot)
        began = time.monotonic()
        if self.group.due():
            self._reset(prepared.setting)
        elif self.group.count:
            self._reload(prepared.setting)
        self.group.count += 1
        return time.monotonic() - began

    def end(self, *, failed: bool, acted: bool = True) -> None:
        """A scenario ended; after a failure the next one starts on a fresh boot (unless the
        machine booted afresh already: a crash's recovery). One that took no action (the
        run's up-front check) leaves the machine as it found it and uses up no boot."""
        if self.group is None:
            return
        if failed and self.group.count:
            self.group.dirty = True
        elif not acted and self.group.count:
            self.group.count -= 1

    def _reboot(self) -> None:
        self._channel().drop()
        assert isinstance(self.machine, Resets)
        self.machine.reset()  # a machine that does not come back takes itself out
        try:
            self._connect()
        except InfrastructureError as e:
            self._unhealthy(str(e))
            raise

    def _reset(self, setting: DriverConfig | None) -> None:
        """Reboot, then prepare `setting` (default: the config's driver) again."""
        self.prepared.clear()
        self._reboot()
        self.prepare(setting or self.config.driver)

    def _reload(self, setting: DriverConfig | None) -> None:
        """The driver out and in again, between two scenarios of one boot; one that will not
        come back costs a reboot instead."""
        try:
            self._steps(self.profile.remove())
            self._steps(self.profile.load(setting or self.config.driver))
            self._loaded()
        except InfrastructureError:
            self._reset(setting)

    def channel_fetch(self, remote: str) -> bytes:
        return self._channel().fetch(remote)

    def query(self) -> DriverInfo:
        result = self._run(self.profile.command("query"))
        if result.status != 0:
            text = result.stderr.decode(errors="replace").strip()
            raise InfrastructureError(
                f"{self.name}: hsprobectl query failed ({text[-200:] or result.status}); is the "
                "driver loaded? fix: check the driver section of the lab config"
            )
        return decode_info(result.stdout)

    def _run(self, argv: tuple[str, ...]) -> Any:
        return self._channel().run(argv)

    def _channel(self) -> Channel:
        if self.channel is None:
            raise InfrastructureError(f"{self.name} is not booted")
        return self.channel

    def release(self) -> None:
        try:
            if self.channel is not None:
                self.channel.close()
        finally:
            self.channel = None
            self.machine.release()
