"""Typed configuration of a machine pool, parsed once from TOML; a bad file names the field.

    backend = "libvirt"
    name = "tg"
    profile = "linux-testguest"
    image = "/var/lib/hotswap-harness/images/testguest"
    snapshot_path = "hmp"
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from harness.errors import ConfigError

__all__ = [
    "DEFAULT_STATE_DIR",
    "DEFAULT_TEMPLATE_DIR",
    "DEFAULT_URI",
    "PoolConfig",
    "load_pool_config",
    "parse_pool_config",
]

DEFAULT_STATE_DIR = Path("/var/lib/hotswap-harness")
DEFAULT_URI = "qemu:///system"
# vm/templates beside the package (a source checkout or an editable install)
DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "vm" / "templates"

# Hints appended to a validation error for a field, so the message says how to fix it.
_FIXES = {
    "profile": "use linux-testguest, linux-standin or windows11 (a template in vm/templates)",
    "accel": "use auto (probe), kvm or tcg",
    "snapshot_path": "use hmp (loadvm in the running QEMU) or libvirt (libvirt's revert)",
    "name": "use 1-20 letters, digits or '-'",
    "size": "use a whole number from 1 to 64",
    "memory_mib": "use a whole number of MiB, at least 64",
}


class PoolConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A pool of identical machines. Every field has a default except `image`."""

    image: str
    """Linux test guest: a directory with vmlinuz, initrd.img, disk.qcow2, cmdline (what
    vm/testguest/build writes). Windows: the qcow2 base disk. No default."""
    backend: str = "libvirt"
    """Which entry of harness.vm.BACKENDS runs the pool. Default: libvirt."""
    name: str = "hs"
    """Pool name; domains are named hs-NAME-SLOT. Default: hs."""
    size: int = 1
    """How many machines may run at once (lease slots). Default: 1."""
    profile: str = "linux-testguest"
    """Domain template: vm/templates/PROFILE.xml.j2. Default: linux-testguest."""
    uri: str = DEFAULT_URI
    """libvirt connection URI. Default: qemu:///system."""
    memory_mib: int = 256
    """Guest memory in MiB. Default: 256."""
    vcpus: int = 1
    """Guest CPUs. Default: 1."""
    accel: Literal["auto", "kvm", "tcg"] = "auto"
    """auto: a quick probe picks KVM unless it is missing or slower than TCG. Default: auto."""
    snapshot_path: Literal["hmp", "libvirt"] = "hmp"
    """How snapshots are taken and reverted: hmp (savevm/loadvm in the running QEMU through
    libvirt's monitor passthrough) or libvirt (libvirt's snapshot API). Default: hmp, the
    faster one measured by bench/bench_vm.py (see docs/vm.md)."""
    boot_marker: str = "HSGUEST READY"
    """Console line (a regex) that means the guest has booted. Default: HSGUEST READY."""
    boot_timeout: float = 300.0
    """Seconds to wait for boot_marker. Default: 300 (TCG on a loaded host is slow)."""
    state_dir: str = str(DEFAULT_STATE_DIR)
    """Per-machine files (overlay disk, console log) and lease locks. Default:
    /var/lib/hotswap-harness."""
    template_dir: str = str(DEFAULT_TEMPLATE_DIR)
    """Where the Jinja2 domain templates live. Default: vm/templates of this checkout."""
    network: str = "default"
    """windows11: libvirt network of the guest's virtio NIC. Default: default."""
    kdnet_network: str = "hs-kdnet"
    """windows11: isolated network of the KDNET e1000e NIC. Default: hs-kdnet."""
    hv_vendor_id: str = "KVMKVMKVM"
    """windows11: Hyper-V vendor id KDNET sees. Default: KVMKVMKVM (the KDNET workaround)."""
    gdbstub_at_start: bool = False
    """Open the gdbstub when the machine starts rather than on demand. Default: false."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9-]{1,20}", self.name):
            raise ValueError(f"Invalid pool name {self.name!r} - at `$.name`")
        if not 1 <= self.size <= 64:
            raise ValueError(f"Invalid size {self.size} - at `$.size`")
        if self.memory_mib < 64:
            raise ValueError(f"Invalid memory_mib {self.memory_mib} - at `$.memory_mib`")

    @property
    def state(self) -> Path:
        return Path(self.state_dir)


def parse_pool_config(data: dict[str, Any], source: str = "<config>") -> PoolConfig:
    """A PoolConfig from already-decoded data; errors name `source` and the field."""
    try:
        return msgspec.convert(data, PoolConfig)
    except (msgspec.ValidationError, ValueError) as e:
        raise ConfigError(_explain(str(e), source)) from None


def load_pool_config(path: str | Path) -> PoolConfig:
    """Read a pool config from a TOML file (a [vm] table, or the whole file), and check that
    its image is there, so a missing image is reported against the file that names it."""
    from harness.vm.image import resolve_image

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such pool config file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    config = parse_pool_config(data.get("vm", data), str(path))
    resolve_image(config.profile, config.image, str(path))
    return config


def _explain(message: str, source: str) -> str:
    found = re.search(r"at `\$\.(\w+)`", message)
    missing = re.search(r"missing required field `(\w+)`", message)
    unknown = re.search(r"unknown field `(\w+)`", message)
    if missing:
        return f"{source}: field {missing[1]} is required; set it (see harness/vm/config.py)"
    if unknown:
        known = ", ".join(PoolConfig.__struct_fields__)
        return f"{source}: unknown field {unknown[1]}; known fields: {known}"
    field = found[1] if found else "?"
    reason = re.sub(r"\s*-\s*at `\$\.\w+`", "", message)
    fix = _FIXES.get(field, "see the field's documentation in harness/vm/config.py")
    return f"{source}: field {field}: {reason}; fix: {fix}"
