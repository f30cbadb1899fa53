"""The hardware inventory: rack machines and how to reach each, typed, parsed once from TOML.

    backend = "hardware"
    name = "rack1"                       # the pool's name
    boot_marker = "HSGUEST READY"        # console line meaning "booted" ("" : none, SSH is)
    [bmc]    timeout = 10.0, retries = 2 # every BMC call: seconds per try, tries after the first
    [reset]  policy = "reboot", every = 1
    [[machine]]
    name = "rack1-07"
    console = "tcp://consoles.lab:7007"  # a console server port, or "sol" (IPMI serial over LAN)
    bmc = { kind = "redfish", url = "https://10.0.0.7", user = "admin",
            password_env = "RACK1_07_BMC" }
    ssh = { host = "10.0.1.7", host_key = "keys/rack1-07.pub" }
    kdnet = { host_ip = "10.0.2.1", port = 50007, key_env = "RACK1_07_KDNET" }
    capabilities = { build = "26100.2033", vbs = true, cpu = "Xeon Gold 6338" }

Credentials are named, never written: a BMC password comes from an environment variable or a
file, read when the BMC is first called and never part of a message (`password = ...` in the
file is refused, and so is a URL carrying user:password@). docs/hardware.md has every field.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

from harness.errors import ConfigError
from harness.files import not_a_file, read_regular

__all__ = [
    "BmcConfig",
    "HardwarePoolConfig",
    "MachineEntry",
    "load_inventory",
    "parse_inventory",
]

Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86400)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
BootDevice = Literal["hdd", "pxe", "cd", "none"]
_LIMIT = 1 << 20
_SECRETS = ("password", "passphrase", "secret", "kdnet_key")
_DOC = "see docs/hardware.md"


class BmcConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A machine's baseboard management controller."""

    kind: Literal["redfish", "ipmi"]
    """redfish (sushy) or ipmi (pyghmi, IPMI 2.0 over LAN). No default."""
    url: Text
    """redfish: http(s)://HOST[:PORT]; ipmi: ipmi://HOST[:PORT] (port 623). No default."""
    user: Text
    """The BMC account. No default."""
    password_env: str | None = None
    """Environment variable holding the password. One of password_env / password_file."""
    password_file: str | None = None
    """File holding the password (its first line)."""
    system: str | None = None
    """redfish: the ComputerSystem's id. Default: the service's only system."""
    verify_tls: bool = True
    """redfish over https: check the BMC's certificate. Default: true."""


class SshEndpoint(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the machine's SSH server answers, and its host key, pinned."""

    host: Text
    port: Port = 22
    host_key: Text
    """The machine's host public key (`TYPE BASE64`), or a known_hosts file. No default."""


class KdnetConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """KDNET on the machine's debug NIC (bcdedit /dbgsettings net ...)."""

    host_ip: Text
    """The debugger host's address the target sends to. No default."""
    port: Port = 50000
    busparams: str | None = None
    """The debug NIC's PCI bus.device.function, when the machine has more than one NIC."""
    key_env: str | None = None
    """Environment variable holding the KDNET key (a.b.c.d)."""
    key_file: str | None = None
    """File holding the KDNET key."""


class Capabilities(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the machine is, as data: plans pick machines by it, the health check checks it."""

    build: str | None = None
    """The OS build the machine must boot (a prefix of what the guest reports: `26100`,
    `6.1.0-28-cloud-amd64`); another is a failed health check. Default: not checked."""
    vbs: bool | None = None
    hvci: bool | None = None
    cpu: str | None = None
    tags: tuple[str, ...] = ()


class MachineEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One rack machine."""

    name: Name
    """Unique across the lab: it names the machine's lease. No default."""
    bmc: BmcConfig
    console: Text
    """tcp://HOST:PORT (a console server, ser2net) or sol (IPMI serial over LAN)."""
    ssh: SshEndpoint
    kdnet: KdnetConfig | None = None
    dump_path: str | None = None
    """Where the OS leaves its own crash dump (C:\\Windows\\MEMORY.DMP; a kdump vmcore),
    fetched over SSH after the reboot that follows a crash. Default: none (console only)."""
    boot_device: BootDevice | None = None
    """One-time boot device set before each power-on. Default: the pool's."""
    capabilities: Capabilities = Capabilities()

    @property
    def console_address(self) -> tuple[str, int] | None:
        """(host, port) of a tcp:// console; None for sol."""
        if self.console == "sol":
            return None
        parts = urlsplit(self.console)
        assert parts.hostname is not None and parts.port is not None  # checked when parsed
        return parts.hostname, parts.port


class BmcSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How long the harness waits on a BMC: a dead one must not hang a run."""

    timeout: Seconds = 10.0
    """Seconds one BMC call may take. Default: 10."""
    retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2
    """Tries after the first when a call times out or the connection fails (a wrong password
    is never retried). Default: 2."""


class ResetPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a machine without snapshots comes back clean between scenarios."""

    policy: Literal["reboot"] = "reboot"
    """reboot: power cycle through the BMC, wait for the marker and SSH, load the driver
    (the OS discards disk changes: UWF, or a reimage before the run). Default: reboot."""
    every: Annotated[int, msgspec.Meta(ge=1, le=100000)] = 1
    """Scenarios per boot: 1 resets before each; N groups N scenarios on one boot (the driver
    reloaded between them) and resets at once after a failure or a crash. Default: 1."""


class HardwarePoolConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A pool of rack machines (the inventory file)."""

    machine: tuple[MachineEntry, ...]
    """The machines, one [[machine]] table each. No default."""
    backend: Literal["hardware"] = "hardware"
    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9-]{1,20}$")] = "rack"
    boot_marker: Annotated[str, msgspec.Meta(max_length=200)] = "HSGUEST READY"
    """Console line (a regex) meaning the machine booted; "" : wait for power only, the lab's
    SSH login is the ready check (Windows prints nothing on its console). Default: HSGUEST
    READY (the stand-in's)."""
    boot_timeout: Seconds = 600.0
    """Seconds from power-on to the marker. Default: 600 (firmware POST is slow)."""
    console_timeout: Seconds = 30.0
    """Seconds the console may refuse connections after power-on before the machine is
    reported (a console server listens at once). Default: 30."""
    boot_device: BootDevice = "hdd"
    """One-time boot device set before each power-on; none leaves the firmware's order.
    Default: hdd."""
    off_at_release: bool = True
    """Power the machine off when its lease ends. Default: true."""
    bmc: BmcSettings = BmcSettings()
    reset: ResetPolicy = ResetPolicy()
    state_dir: Text = "/var/lib/hotswap-harness"
    """Console logs (state_dir/machines/NAME), leases and health records. Default:
    /var/lib/hotswap-harness."""
    source: str = "<inventory>"

    @property
    def state(self) -> Path:
        return Path(self.state_dir)


def _refuse_secrets(data: Any, where: str) -> None:
    if isinstance(data, list):
        for item in data:
            _refuse_secrets(item, where)
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if any(s in key for s in _SECRETS) and not key.endswith(("_env", "_file")):
            raise ConfigError(
                f"{where}: field {key}: secrets never go in the inventory; fix: "
                f"name an environment variable ({key}_env) or a file "
                f"({key}_file) holding it"
            )
        _refuse_secrets(value, where)


def _why(e: Exception) -> tuple[str, str]:
    """(field path, reason) from a msgspec error."""
    text = str(e)
    found = re.search(r"at `\$\.?([\w.\[\]]*)`", text)
    field = found[1] if found else ""
    for pattern in (r"missing required field `(\w+)`", r"unknown field `(\w+)`"):
        m = re.search(pattern, text)
        if m:
            field = f"{field}.{m[1]}" if field else m[1]
    return field or "?", re.sub(r"\s*-\s*at `\$[^`]*`", "", text)


def _machine(data: Any, index: int, source: str, base: Path) -> MachineEntry:
    name = data.get("name") if isinstance(data, dict) else None
    where = f"{source}: machine {name or f'#{index + 1}'}"
    try:
        entry = msgspec.convert(data, MachineEntry)
    except msgspec.ValidationError as e:
        field, reason = _why(e)
        raise ConfigError(f"{where}: field {field}: {reason}; {_DOC}") from None
    _check_endpoints(entry, where)
    return _with_paths(entry, base, where)


def _check_endpoints(entry: MachineEntry, where: str) -> None:
    url = urlsplit(entry.bmc.url)
    schemes = ("http", "https") if entry.bmc.kind == "redfish" else ("ipmi",)
    if url.username or url.password:
        raise ConfigError(
            f"{where}: field bmc.url: carries credentials; fix: remove them "
            "from the URL and use bmc.user with password_env or password_file"
        )
    if url.scheme not in schemes or not url.hostname:
        form = "http(s)://HOST[:PORT]" if entry.bmc.kind == "redfish" else "ipmi://HOST[:PORT]"
        raise ConfigError(
            f"{where}: field bmc.url: {entry.bmc.url!r} is not a {entry.bmc.kind}"
            f" URL; fix: use {form}"
        )
    if bool(entry.bmc.password_env) == bool(entry.bmc.password_file):
        raise ConfigError(
            f"{where}: field bmc.password_env: give password_env or "
            "password_file (one of them); fix: name where the password is kept"
        )
    if entry.console == "sol":
        if entry.bmc.kind != "ipmi":
            raise ConfigError(
                f"{where}: field console: sol needs an IPMI BMC; fix: use "
                "tcp://HOST:PORT of the machine's console server"
            )
        return
    console = urlsplit(entry.console)
    try:
        port = console.port
    except ValueError:
        port = None
    if console.scheme != "tcp" or not console.hostname or port is None:
        raise ConfigError(
            f"{where}: field console: {entry.console!r}; fix: use "
            "tcp://HOST:PORT (a console server port) or sol"
        )


def _with_paths(entry: MachineEntry, base: Path, where: str) -> MachineEntry:
    """Files the entry names made absolute and checked."""

    def resolve(value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())

    host_key = resolve(entry.ssh.host_key) or ""
    wrong = not_a_file(host_key)
    if wrong:
        raise ConfigError(
            f"{where}: field ssh.host_key: {host_key} {wrong}; fix: point it at "
            "the machine's SSH host public key"
        )
    bmc = msgspec.structs.replace(entry.bmc, password_file=resolve(entry.bmc.password_file))
    ssh = msgspec.structs.replace(entry.ssh, host_key=host_key)
    kdnet = entry.kdnet and msgspec.structs.replace(
        entry.kdnet, key_file=resolve(entry.kdnet.key_file)
    )
    return msgspec.structs.replace(entry, bmc=bmc, ssh=ssh, kdnet=kdnet)


def _unique(machines: list[MachineEntry], source: str) -> None:
    """No machine twice: by name, by BMC (URL and system), by console, by SSH address."""
    seen: dict[tuple[str, str], str] = {}
    for m in machines:
        keys = {
            "name": m.name,
            "BMC": f"{m.bmc.url} {m.bmc.system or ''}".strip(),
            "SSH address": f"{m.ssh.host}:{m.ssh.port}",
        }
        if m.console != "sol":
            keys["console"] = m.console
        for what, value in keys.items():
            other = seen.get((what, value))
            if other is not None:
                also = "" if what == "name" else f" (also machine {other})"
                raise ConfigError(
                    f"{source}: machine {m.name}: the {what} {value} is listed "
                    f"twice{also}; fix: list each machine once"
                )
            seen[(what, value)] = m.name


def parse_inventory(
    data: Any, source: str = "<inventory>", base: Path | None = None
) -> HardwarePoolConfig:
    """A HardwarePoolConfig from decoded TOML; every error names the file, the machine and the
    field."""
    base = base or Path.cwd()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: an inventory is a table of fields; {_DOC}")
    _refuse_secrets(data, source)
    entries = data.get("machine")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            f"{source}: no [[machine]] tables; fix: list the rack's machines, "
            f"one [[machine]] table each ({_DOC})"
        )
    machines = [_machine(m, i, source, base) for i, m in enumerate(entries)]
    _unique(machines, source)
    rest = {k: v for k, v in data.items() if k != "machine"}
    try:
        config = msgspec.convert({**rest, "machine": [], "source": source}, HardwarePoolConfig)
    except msgspec.ValidationError as e:
        field, reason = _why(e)
        raise ConfigError(f"{source}: field {field}: {reason}; {_DOC}") from None
    try:
        re.compile(config.boot_marker)
    except re.error as e:
        raise ConfigError(f"{source}: field boot_marker: not a regular expression ({e})") from None
    return msgspec.structs.replace(config, machine=tuple(machines))


def load_inventory(path: str | Path) -> HardwarePoolConfig:
    """Read and check an inventory file."""
    path = Path(path)
    raw = read_regular(path, limit=_LIMIT, what="hardware inventory", error=ConfigError)
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return parse_inventory(data, str(path), path.resolve().parent)
