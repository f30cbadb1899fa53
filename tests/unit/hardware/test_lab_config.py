"""A lab config naming a hardware inventory instead of a pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.lab.config import load_lab_config

from ..lab.conftest import config_text, labdir

__all__ = ["labdir"]

INVENTORY = """name = "rack1"
[[machine]]
name = "rack1-07"
console = "tcp://consoles.lab:7007"
bmc = { kind = "redfish", url = "https://bmc.lab", user = "admin", password_env = "P" }
ssh = { host = "rack1-07.lab", host_key = "host_key.pub" }
"""


def _write(labdir: Path, **override: str) -> Path:
    (labdir / "rack.toml").write_text(INVENTORY)
    path = labdir / "lab.toml"
    path.write_text(config_text(labdir, **override))
    return path


def test_a_hardware_lab_needs_no_host_key_of_its_own(labdir: Path) -> None:
    path = _write(labdir, pool='hardware = "rack.toml"', ssh='[ssh]\nkey = "client_key"')
    config = load_lab_config(path)
    assert config.pool is None and config.hardware is not None
    assert config.machines is config.hardware and config.ssh.host_key == ""
    assert config.hardware.machine[0].ssh.host_key == str(labdir / "host_key.pub")


def test_guest_image_gives_the_image_defaults(labdir: Path) -> None:
    (labdir / "image" / "guest.json").write_text(
        json.dumps(
            {
                "client_key": "client_key",
                "modules_dir": "/lib/modules/x/extra",
                "hsprobectl": "/usr/bin/hsprobectl",
                "ssh_user": "root",
            }
        )
    )
    (labdir / "image" / "client_key").write_text("k\n")
    path = _write(
        labdir, pool=f'hardware = "rack.toml"\nguest_image = "{labdir / "image"}"', ssh=""
    )
    config = load_lab_config(path)
    assert config.driver.guest_dir == "/lib/modules/x/extra"
    assert config.ssh.key.endswith("client_key") and config.guest_image


def test_pool_and_hardware_together_and_neither_are_refused(labdir: Path) -> None:
    both = _write(labdir, profile='profile = "linux"\nhardware = "rack.toml"')
    with pytest.raises(ConfigError, match="fields pool and hardware: give one"):
        load_lab_config(both)
    neither = _write(labdir, pool="")
    with pytest.raises(
        ConfigError,
        match=r"field pool: missing; fix: .* or a hardware "
        "inventory",
    ):
        load_lab_config(neither)
    libvirt = _write(labdir, ssh='[ssh]\nkey = "client_key"')
    with pytest.raises(ConfigError, match=r"field ssh\.host_key: missing"):
        load_lab_config(libvirt)


def test_the_agent_channel_is_refused_for_rack_machines(labdir: Path) -> None:
    path = _write(
        labdir,
        profile='profile = "linux"\nchannel = "agent"',
        pool='hardware = "rack.toml"',
        ssh='[ssh]\nkey = "client_key"',
    )
    with pytest.raises(ConfigError, match=r'field channel: agent .*; fix: use channel = "ssh"'):
        load_lab_config(path)
