"""Typed configuration of a lab target, parsed once from TOML; a bad file names the field.

    profile = "linux"                 # guest profile: linux (the stand-in) or windows
    convention = "documented"         # what the kernel is expected to implement (optional)
    pool = "pool.toml"                # a pool config file, or a [pool] table inline
    hardware = "rack.toml"            # or: rack machines, a hardware inventory (docs/hardware.md)
    channel = "ssh"                   # or agent: the QEMU guest agent (a pool's VMs only)
    [ssh]    user, key, host_key, passphrase_env | passphrase_file
    [driver] dist (the manifest's directory), guest_dir, install, feature, bugs
    [debugger] watchdog, [debugger.pykd] host, engine, kdnet_key_env | kdnet_key_file
    [timeouts] command, ready, attach

Relative paths are relative to the config file. Secrets (a key passphrase, the KDNET key)
are never in the file: it names an environment variable or a file holding them, read only
when they are used and never logged.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from harness.errors import ConfigError
from harness.hardware.inventory import HardwarePoolConfig, load_inventory
from harness.vm.config import PoolConfig, load_pool_config, parse_pool_config
from harness.vm.image import resolve_image

__all__ = [
    "DebuggerConfig",
    "DriverConfig",
    "LabConfig",
    "PykdConfig",
    "SshConfig",
    "Timeouts",
    "load_lab_config",
    "parse_lab_config",
    "secret",
]

Profile = Literal["linux", "windows"]
Shell = Literal["sh", "cmd", "powershell"]

#: names a person might use to put a secret straight into the file: refused with the fix
_SECRET_NAMES = ("password", "passphrase", "kdnet_key", "secret")
_FIXES = {
    "profile": "use linux (the Linux stand-in) or windows",
    "convention": "use documented or inverted, or leave it out to measure without judging",
    "pool": 'give a pool config file (pool = "pool.toml") or a [pool] table, or a hardware '
    'inventory (hardware = "rack.toml")',
    "ssh.user": "set the login user of the guest (root on the stand-in)",
    "ssh.key": "point it at the private key file the guest accepts",
    "ssh.host_key": "point it at the guest's pinned host public key (or a known_hosts file)",
    "ssh.port": "use a TCP port from 1 to 65535",
    "ssh.shell": "use sh, cmd or powershell",
    "channel": "use ssh, or agent (the QEMU guest agent, on a pool's VMs)",
    "driver.dist": "point it at the directory holding manifest.json (make -C drivers ...)",
    "driver.feature": "use enabled, disabled or blocked",
    "driver.kernel_convention": "use documented or inverted",
    "debugger.pykd.engine": "use pykd, pybag or gdbstub",
    "debugger.pykd.host": "use the debugger host's name, or local to run the agent here",
}


class SshConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the harness logs in to the guest. Key authentication only; host key pinned.
    Defaults marked "guest.json" come from the image's guest.json when it has one (the
    stand-in image does, see vm/standin/build)."""

    key: str = ""
    """Private key file the guest accepts (required with channel = "ssh"). Default:
    guest.json's client_key."""
    host_key: str = ""
    """The guest's host public key (`TYPE BASE64 [comment]`, as ssh-keygen writes it) or a
    known_hosts file; any other key is refused. Default: guest.json's host_key; with a
    hardware inventory, each machine's own (its entry's ssh.host_key)."""
    user: str = "root"
    """Login user. Default: guest.json's ssh_user, else root."""
    host: str = "auto"
    """Guest address; auto: a loopback forward into a user-mode NIC, else the address
    libvirt knows for the leased machine. Default: auto."""
    port: int = 22
    """Default: 22."""
    shell: Shell | None = None
    """How the guest reads command lines. Default: the profile's (sh; cmd on Windows)."""
    passphrase_env: str | None = None
    """Environment variable holding the key's passphrase, if it has one. Default: none."""
    passphrase_file: str | None = None
    """File holding the key's passphrase (instead of passphrase_env). Default: none."""

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"Invalid port {self.port} - at `$.ssh.port`")
        if self.passphrase_env and self.passphrase_file:
            raise ValueError(
                "give passphrase_env or passphrase_file, not both - at `$.ssh.passphrase_file`"
            )


class DriverConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The driver build under test and how the guest holds it."""

    dist: str
    """Directory with manifest.json and the artifacts it names. No default."""
    guest_dir: str | None = None
    """Where the driver images are in the guest. Default: guest.json's modules_dir, else the
    profile's (/lib/hsprobe on linux, C:\\hsp on windows)."""
    tool: str | None = None
    """Path of hsprobectl in the guest. Default: guest.json's hsprobectl, else guest_dir's."""
    install: bool = False
    """Copy the artifacts into guest_dir before loading (else the image holds them).
    Default: false."""
    feature: Literal["enabled", "disabled", "blocked"] = "enabled"
    """linux: hsproxy's feature parameter. Default: enabled."""
    kernel_convention: Literal["documented", "inverted"] = "documented"
    """linux: the convention hsproxy implements. Default: documented."""
    bugs: tuple[str, ...] = ()
    """linux: hsproxy's named kernel bugs to switch on. Default: none."""


class PykdConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The debugger agent's host: a Windows host with pykd/pybag (KDNET), or `local` with the
    gdbstub engine (how the agent path is proven against the stand-in)."""

    host: str = "local"
    """Debugger host name, or local. Default: local."""
    engine: Literal["pykd", "pybag", "gdbstub"] = "pykd"
    """Default: pykd."""
    user: str | None = None
    key: str | None = None
    known_hosts: str | None = None
    port: int = 22
    shell: Shell = "cmd"
    """Default: cmd (OpenSSH for Windows)."""
    python: str = "python"
    """The host's interpreter with pykd (pykd's wheels stop at CPython 3.9). Default: python."""
    kdnet_port: int = 50000
    """KDNET port. Default: 50000."""
    kdnet_key_env: str | None = None
    """Environment variable holding the KDNET key (a.b.c.d). Default: none."""
    kdnet_key_file: str | None = None
    """File holding the KDNET key (instead of kdnet_key_env). Default: none."""
    attach_timeout: float = 120.0
    """Seconds for the agent to attach. Default: 120."""


class DebuggerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings for --debugger on this lab."""

    watchdog: float = 60.0
    """Seconds any one debugger call may take before the session is killed. Default: 60."""
    hardware: bool = True
    """gdbstub: hardware breakpoints (Z1). Default: true."""
    cid_offset: int | None = None
    """windows gdbstub: ETHREAD.Cid for a build not in the table. Default: from the table."""
    pykd: PykdConfig | None = None
    """The agent's host for --debugger pykd. Default: none (pykd refused)."""


class Timeouts(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Seconds; an unresponsive guest is reported within these, never a hang."""

    command: float = 30.0
    """One hsprobectl (or sc.exe, insmod) call. Default: 30."""
    ready: float = 120.0
    """Revert, reconnect and driver ready. Default: 120."""
    slack: float = 0.25
    """How late an effect may show in the guest's trace after its cause (a wake after the
    signal, a timeout after its deadline): the target's timing slack. Default: 0.25 (a
    TCG guest on a loaded host)."""


class LabConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A lab target: which machines, how to reach them, which driver, which debugger."""

    profile: Profile
    """Guest profile. No default."""
    pool: PoolConfig | None = None
    """The machines (a pool config file or an inline [pool] table). One of pool / hardware."""
    hardware: HardwarePoolConfig | None = None
    """Rack machines instead: a hardware inventory file (docs/hardware.md)."""
    guest_image: str | None = None
    """With hardware: the image directory the machines were installed from, whose guest.json
    gives the ssh and driver defaults a pool's image gives (the stand-in's). Default: none."""
    channel: Literal["ssh", "agent"] = "ssh"
    """How commands and files reach the guest: ssh (needs [ssh]), or agent, the QEMU guest
    agent, which a revert does not break (a pool's VMs whose guest runs the agent on the
    harness's port org.hotswap.agent.0, reached on its socket, or on libvirt's
    org.qemu.guest_agent.0, reached through libvirt). Default: ssh."""
    ssh: SshConfig = SshConfig()
    """With channel = "agent", not used."""
    driver: DriverConfig
    convention: Literal["documented", "inverted"] | None = None
    """The convention the kernel is expected to implement; none: measure, do not judge."""
    debugger: DebuggerConfig = DebuggerConfig()
    timeouts: Timeouts = Timeouts()
    snapshot: str = "ready"
    """Name of the running-state snapshot each scenario starts from. Default: ready."""
    source: str = "<config>"
    """The file this came from (set by the loader, for messages)."""

    @property
    def shell(self) -> Shell:
        return self.ssh.shell or ("sh" if self.profile == "linux" else "cmd")

    @property
    def machines(self) -> PoolConfig | HardwarePoolConfig:
        """The pool the lab leases from (libvirt VMs or rack machines)."""
        machines = self.hardware or self.pool
        assert machines is not None  # parse_lab_config requires one
        return machines


def _explain(message: str, source: str) -> str:
    found = re.search(r"at `\$\.([\w.]+)`", message)
    where = found[1] if found else ""
    missing = re.search(r"missing required field `(\w+)`", message)
    unknown = re.search(r"unknown field `(\w+)`", message)
    if missing:
        field = f"{where}.{missing[1]}" if where else missing[1]
        fix = _FIXES.get(field, "set it (see docs/lab-target.md)")
        return f"{source}: field {field}: missing; fix: {fix}"
    if unknown:
        field = f"{where}.{unknown[1]}" if where else unknown[1]
        return (
            f"{source}: field {field}: unknown; fix: remove it or correct its spelling "
            "(see docs/lab-target.md)"
        )
    reason = re.sub(r"\s*-\s*at `\$[\w.]*`", "", message)
    fix = _FIXES.get(where, "see docs/lab-target.md")
    return f"{source}: field {where or '?'}: {reason}; fix: {fix}"


def _refuse_secrets(data: Any, source: str, prefix: str = "") -> None:
    """A secret written into the file is refused, naming how to pass it instead."""
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        path = f"{prefix}{key}"
        if any(name in key for name in _SECRET_NAMES) and not key.endswith(("_env", "_file")):
            raise ConfigError(
                f"{source}: field {path}: secrets never go in the config file; fix: name an "
                f"environment variable ({key}_env) or a file ({key}_file) holding it"
            )
        _refuse_secrets(value, source, f"{path}.")


def _resolve(base: Path, value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else (base / path).resolve())


def _pool(data: Any, base: Path, source: str) -> PoolConfig:
    if isinstance(data, str):
        return load_pool_config(_resolve(base, data) or data)
    if isinstance(data, dict):
        data = dict(data)
        if "image" in data:
            data["image"] = _resolve(base, data["image"])
        pool = parse_pool_config(data, f"{source} [pool]")
        resolve_image(pool.profile, pool.image, f"{source} [pool]")
        return pool
    raise ConfigError(f"{source}: field pool: missing; fix: {_FIXES['pool']}")


#: guest.json key -> (table, field) it gives a default for; paths are relative to the image
_GUEST_JSON = {
    "client_key": ("ssh", "key", True),
    "host_key": ("ssh", "host_key", True),
    "ssh_user": ("ssh", "user", False),
    "modules_dir": ("driver", "guest_dir", False),
    "hsprobectl": ("driver", "tool", False),
}


def _image_defaults(data: dict[str, Any], image: str) -> dict[str, Any]:
    """`data` with what the image's guest.json says filled in where the file is silent."""
    path = Path(image) / "guest.json"
    if not path.is_file():
        return data
    try:
        guest = msgspec.json.decode(path.read_bytes(), type=dict[str, Any])
    except msgspec.DecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); fix: rebuild the image") from None
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for key, (table, field, is_path) in _GUEST_JSON.items():
        if key in guest and isinstance(out.setdefault(table, {}), dict):
            value = str(Path(image) / guest[key]) if is_path else guest[key]
            out[table].setdefault(field, value)
    return out


def _paths(config: LabConfig, base: Path) -> LabConfig:
    """Relative paths made absolute, then every file the config names checked."""
    ssh = msgspec.structs.replace(
        config.ssh,
        key=_resolve(base, config.ssh.key) if config.ssh.key else "",
        host_key=_resolve(base, config.ssh.host_key) if config.ssh.host_key else "",
        passphrase_file=_resolve(base, config.ssh.passphrase_file),
    )
    driver = msgspec.structs.replace(config.driver, dist=_resolve(base, config.driver.dist))
    debugger = config.debugger
    if debugger.pykd is not None:
        p = debugger.pykd
        debugger = msgspec.structs.replace(
            debugger,
            pykd=msgspec.structs.replace(
                p,
                key=_resolve(base, p.key),
                known_hosts=_resolve(base, p.known_hosts),
                kdnet_key_file=_resolve(base, p.kdnet_key_file),
            ),
        )
    return msgspec.structs.replace(config, ssh=ssh, driver=driver, debugger=debugger)


def _check_files(config: LabConfig) -> None:
    src = config.source
    if config.channel == "agent" and config.hardware is not None:
        raise ConfigError(
            f"{src}: field channel: agent reaches the QEMU guest agent through libvirt, and "
            'rack machines have no hypervisor; fix: use channel = "ssh" with hardware'
        )
    ssh = config.channel == "ssh"
    if ssh and not config.ssh.key:
        raise ConfigError(f"{src}: field ssh.key: missing; fix: {_FIXES['ssh.key']}")
    # rack machines pin their own host keys, in the inventory
    if ssh and not config.ssh.host_key and config.hardware is None:
        raise ConfigError(f"{src}: field ssh.host_key: missing; fix: {_FIXES['ssh.host_key']}")
    wanted = [("ssh.key", config.ssh.key, "the private key the guest accepts")] if ssh else []
    manifest = str(Path(config.driver.dist) / "manifest.json")
    wanted.append(("driver.dist", manifest, "the driver manifest; build it with make -C drivers"))
    if ssh and config.ssh.host_key:
        wanted.append(("ssh.host_key", config.ssh.host_key, "the guest's pinned host key"))
    if config.ssh.passphrase_file:
        wanted.append(("ssh.passphrase_file", config.ssh.passphrase_file, "the passphrase"))
    for field, path, what in wanted:
        if not Path(path).is_file():
            raise ConfigError(f"{src}: field {field}: no such file {path}; fix: point it at {what}")
    pykd = config.debugger.pykd
    if (
        pykd is not None
        and pykd.engine != "gdbstub"
        and not (pykd.kdnet_key_env or pykd.kdnet_key_file)
    ):
        raise ConfigError(
            f"{src}: field debugger.pykd.kdnet_key_env: missing; fix: name the "
            "environment variable (or kdnet_key_file) holding the KDNET key"
        )
    if pykd is not None and pykd.host != "local":
        for field in ("user", "key", "known_hosts"):
            if getattr(pykd, field) is None:
                raise ConfigError(
                    f"{src}: field debugger.pykd.{field}: missing; fix: the "
                    f"agent on host {pykd.host} is reached over SSH and needs it"
                )


def parse_lab_config(
    data: dict[str, Any], source: str = "<config>", base: Path | None = None
) -> LabConfig:
    """A LabConfig from decoded TOML; every error names `source` and the field."""
    base = base or Path.cwd()
    _refuse_secrets(data, source)
    data = dict(data)
    machines: dict[str, Any] = {}
    if "hardware" in data:
        if "pool" in data:
            raise ConfigError(
                f"{source}: fields pool and hardware: give one; fix: lease VMs "
                "(pool) or rack machines (hardware), not both"
            )
        hardware = data.pop("hardware")
        if not isinstance(hardware, str):
            raise ConfigError(
                f"{source}: field hardware: {hardware!r}; fix: name the "
                "hardware inventory file (docs/hardware.md)"
            )
        machines["hardware"] = load_inventory(_resolve(base, hardware) or hardware)
        image = data.get("guest_image")
        if isinstance(image, str):
            data = _image_defaults(data, _resolve(base, image) or image)
    else:
        machines["pool"] = _pool(data.pop("pool", None), base, source)
        data = _image_defaults(data, machines["pool"].image)
    try:
        config = msgspec.convert({**data, **machines, "source": source}, LabConfig)
    except (msgspec.ValidationError, ValueError) as e:
        raise ConfigError(_explain(str(e), source)) from None
    config = _paths(config, base)
    _check_files(config)
    return config


def load_lab_config(path: str | Path) -> LabConfig:
    """Read and check a lab config file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such lab config file; fix: give the path of a lab "
            "config such as lab/linux-standin.toml"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it: {e.strerror}") from None
    return parse_lab_config(data, str(path), path.resolve().parent)


def secret(env: str | None, file: str | None, what: str, source: str) -> str | None:
    """A secret from the environment variable or file the config names (None if neither).
    The value is never part of any message."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(
                f"{source}: {what}: environment variable {env} is not set; "
                f"fix: export {env} before the run"
            )
        return value
    if file:
        try:
            return Path(file).read_text().strip()
        except OSError as e:
            raise ConfigError(f"{source}: {what}: cannot read {file}: {e.strerror}") from None
    return None
