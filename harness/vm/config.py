"""Typed configuration of a machine pool, parsed once from TOML; a bad file names the field.

    backend = "libvirt"
    name = "tg"
    profile = "linux-testguest"
    image = "/var/lib/hotswap-harness/images/testguest"
    snapshot_path = "hmp"

Every field carries its real range as a msgspec `Meta` constraint, checked before anything
reaches libvirt (libvirtd itself aborts on some out-of-range values: `vcpus = -4` made it
try a 32 GiB allocation). Ranges that depend on the host (memory and CPUs of the libvirt
host) are checked when the pool connects (harness/vm/libvirt.py).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from harness.errors import ConfigError
from harness.files import read_regular

__all__ = [
    "DEFAULT_STATE_DIR",
    "DEFAULT_TEMPLATE_DIR",
    "DEFAULT_URI",
    "PoolConfig",
    "check_seconds",
    "load_pool_config",
    "parse_pool_config",
]

DEFAULT_STATE_DIR = Path("/var/lib/hotswap-harness")
DEFAULT_URI = "qemu:///system"
# vm/templates beside the package (a source checkout or an editable install)
DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "vm" / "templates"
_CONFIG_LIMIT = 1 << 20  # a pool config is a few hundred bytes

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
# libvirt object names end up in bridge and file names: keep them to a safe alphabet
NetworkName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,15}$")]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86400)]

# How to fix each field, appended to msgspec's own message for it.
_FIXES = {
    "image": "point it at the test guest directory or the qcow2 base image",
    "backend": "use libvirt",
    "name": "use 1-20 letters, digits or '-'",
    "size": "use a whole number from 1 to 64",
    "profile": "use a template name in vm/templates, e.g. linux-testguest, linux-standin "
    "or windows11",
    "uri": "use a libvirt URI such as qemu:///system",
    "memory_mib": "use a whole number of MiB from 64 to 1048576 (and at most the host's)",
    "vcpus": "use a whole number from 1 to 255 (and at most the host's CPUs)",
    "accel": "use auto (probe), kvm or tcg",
    "snapshot_path": "use hmp (loadvm in the running QEMU) or libvirt (libvirt's revert)",
    "boot_marker": "use a Python regular expression of 1-200 characters",
    "boot_timeout": "use a number of seconds greater than 0, at most 86400",
    "libvirt_timeout": "use a number of seconds greater than 0, at most 86400",
    "network": "use 1-15 letters, digits, '_' or '-'",
    "kdnet_network": "use 1-15 letters, digits, '_' or '-'",
    "hv_vendor_id": "use 1-12 letters or digits",
    "gdbstub_at_start": "use true or false",
    "state_dir": "use a directory path",
    "template_dir": "use the directory holding the PROFILE.xml.j2 templates",
}


class PoolConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A pool of identical machines. Every field has a default except `image`."""

    image: Text
    """Linux test guest: a directory with vmlinuz, initrd.img, disk.qcow2, cmdline (what
    vm/testguest/build writes). Windows: the qcow2 base disk. No default."""
    backend: Text = "libvirt"
    """Which entry of harness.vm.BACKENDS runs the pool. Default: libvirt."""
    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9-]{1,20}$")] = "hs"
    """Pool name; domains are named hs-NAME-SLOT. Default: hs."""
    size: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    """How many machines may run at once (lease slots), 1-64. Default: 1."""
    profile: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "linux-testguest"
    """Domain template: TEMPLATE_DIR/PROFILE.xml.j2. Default: linux-testguest."""
    uri: Text = DEFAULT_URI
    """libvirt connection URI. Default: qemu:///system."""
    memory_mib: Annotated[int, msgspec.Meta(ge=64, le=1 << 20)] = 256
    """Guest memory in MiB, 64 to 1 TiB and at most the libvirt host's. Default: 256."""
    vcpus: Annotated[int, msgspec.Meta(ge=1, le=255)] = 1
    """Guest CPUs, 1-255 (the pc machine's limit) and at most the host's. Default: 1."""
    accel: Literal["auto", "kvm", "tcg"] = "auto"
    """auto: a quick probe picks KVM unless it is missing or slower than TCG. Default: auto."""
    snapshot_path: Literal["hmp", "libvirt"] = "hmp"
    """How snapshots are taken and reverted: hmp (savevm/loadvm in the running QEMU through
    libvirt's monitor passthrough) or libvirt (libvirt's snapshot API). Default: hmp, the
    faster one measured by bench/bench_vm.py (see docs/vm.md)."""
    boot_marker: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "HSGUEST READY"
    """Console line (a regex, compiled when the config is read) that means the guest has
    booted. Default: HSGUEST READY."""
    boot_timeout: Seconds = 300.0
    """Seconds to wait for boot_marker. Default: 300 (TCG on a loaded host is slow)."""
    libvirt_timeout: Seconds = 120.0
    """Seconds any one libvirt call may take before the pool gives up on libvirtd (a hung
    daemon must not hang the run). Memory dumps get ten times this. Default: 120 (defining
    a domain can take 40 s on a host without udev; see docs/vm.md)."""
    state_dir: Text = str(DEFAULT_STATE_DIR)
    """Per-machine files (overlay disk, console log) and lease locks. Default:
    /var/lib/hotswap-harness."""
    template_dir: Text = str(DEFAULT_TEMPLATE_DIR)
    """Where the Jinja2 domain templates live. Default: vm/templates of this checkout."""
    network: NetworkName = "default"
    """windows11: libvirt network of the guest's virtio NIC. Default: default."""
    kdnet_network: NetworkName = "hs-kdnet"
    """windows11: isolated network of the KDNET e1000e NIC. Default: hs-kdnet."""
    hv_vendor_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{1,12}$")] = "KVMKVMKVM"
    """windows11: Hyper-V vendor id KDNET sees (at most 12 characters). Default: KVMKVMKVM
    (the KDNET workaround)."""
    gdbstub_at_start: bool = False
    """Open the gdbstub when the machine starts rather than on demand. Default: false."""

    @property
    def state(self) -> Path:
        return Path(self.state_dir)


_FIELDS = {f.name: f for f in msgspec.structs.fields(PoolConfig)}


def parse_pool_config(data: Any, source: str = "<config>") -> PoolConfig:
    """A PoolConfig from already-decoded data, every field in range and the boot marker a
    valid regex; errors name `source`, the field and the fix."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the pool config must be a table of fields, "
            f"not {type(data).__name__}; see docs/vm.md"
        )
    # each field on its own, so the error names its field without parsing msgspec's text
    for key, value in data.items():
        field = _FIELDS.get(key)
        if field is None:
            known = ", ".join(_FIELDS)
            raise ConfigError(f"{source}: unknown field {key}; known fields: {known}")
        try:
            msgspec.convert(value, field.type)
        except msgspec.ValidationError as e:
            raise ConfigError(f"{source}: field {key}: {e}; fix: {_FIXES[key]}") from None
    for name, field in _FIELDS.items():
        if field.required and name not in data:
            raise ConfigError(f"{source}: field {name} is required; {_FIXES[name]}")
    config = msgspec.convert(data, PoolConfig)
    try:
        re.compile(config.boot_marker)
    except re.error as e:
        raise ConfigError(
            f"{source}: field boot_marker: /{config.boot_marker}/ is not a valid "
            f"regular expression ({e}); fix: {_FIXES['boot_marker']}"
        ) from None
    return config


def check_seconds(value: float, what: str) -> float:
    """`value` if it is a usable timeout (finite, above 0, at most a day), else ConfigError:
    a NaN deadline is never reached, and a wait with one would never end."""
    if not (isinstance(value, int | float) and 0 < value <= 86400):  # False for NaN
        raise ConfigError(f"{what}: {value!r} seconds: use a finite number above 0, at most 86400")
    return float(value)


def validated(config: PoolConfig, source: str = "pool config") -> PoolConfig:
    """`config` checked as if read from a file (a PoolConfig built in code skips the
    constraints: msgspec checks them when converting, not in the constructor)."""
    return parse_pool_config(msgspec.to_builtins(config), source)


def load_pool_config(path: str | Path) -> PoolConfig:
    """Read a pool config from a TOML file (a [vm] table, or the whole file), and check that
    its profile and image are there, so a wrong one is reported against the file."""
    from harness.vm.image import resolve_image
    from harness.vm.template import check_template

    source = str(path)
    data = _toml(
        read_regular(path, limit=_CONFIG_LIMIT, what="pool config", error=ConfigError), source
    )
    config = parse_pool_config(data.get("vm", data), source)
    check_template(
        Path(config.template_dir), config.profile, f"{source}: field profile", what="profile"
    )
    resolve_image(config.profile, config.image, source)
    return config


def _toml(raw: bytes, source: str) -> dict[str, Any]:
    """TOML from bytes; a UTF-16 file (what some Windows editors write) or other non-UTF-8
    text gets a message saying so."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError(f"{source}: is UTF-16 text; save it as UTF-8")
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 byte-order mark is harmless: drop it
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{source}: is not UTF-8 text (byte {raw[e.start]:#04x} at offset "
            f"{e.start}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
