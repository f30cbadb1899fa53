"""Bad lab input, each one clear error naming the cause and the fix, no traceback, and no
leased machine left behind (`harness vm list` shows none of the pool's domains)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import DIST, MakeConfig, domains, harness, standin_templates

pytestmark = pytest.mark.integration

SSH_CHANNEL: dict[str, dict[str, object]] = {"": {"channel": "ssh"}}


def _pool(config: Path) -> str:
    return config.read_text().split('name = "')[1].split('"')[0]


def _fails(config: Path, *more: str, code: int, says: tuple[str, ...]) -> str:
    proc = harness(
        "run",
        "--target",
        f"lab:{config}",
        "-k",
        "terminate_on_request",
        *more,
        "--out",
        str(config.parent / "out"),
        timeout=900,
    )
    text = proc.stderr
    assert proc.returncode == code, proc.stdout[-2000:] + text[-2000:]
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("harness run: error:")]
    assert len(errors) == 1, text
    for part in says:
        assert part in errors[0], errors[0]
    listed = harness("vm", "list")
    assert _pool(config) not in listed.stdout, listed.stdout
    assert domains(f"hs-{_pool(config)}-") == []
    return errors[0]


def test_missing_field(make_config: MakeConfig) -> None:
    config = make_config("f", ssh={"port": "twenty-two"})
    _fails(config, code=2, says=("field ssh.port", "fix:"))


def test_unreachable_host(make_config: MakeConfig) -> None:
    config = make_config(
        "u", ssh={"host": "127.0.0.1", "port": 1}, timeouts={"ready": 5.0}, **SSH_CHANNEL
    )
    _fails(
        config,
        code=3,
        says=("cannot reach the guest's SSH server at root@127.0.0.1:1", "fix: check ssh.host"),
    )


def test_wrong_host_key(make_config: MakeConfig, tmp_path: Path) -> None:
    other = tmp_path / "other.pub"
    other.write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtr7mm2lU5Bq3JZ5Q8b1d6sPVvHRdQ4"
        "GLtWJ4mYHXWc not-the-guest\n"
    )
    config = make_config("k", ssh={"host_key": str(other)}, **SSH_CHANNEL)
    _fails(config, code=3, says=("host key does not match", "refusing"))


def test_driver_not_the_manifests(make_config: MakeConfig, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    shutil.copytree(DIST, dist)
    manifest = json.loads((dist / "manifest.json").read_text())
    for entry in manifest["artifacts"]:
        if entry["name"] == "hsprobe.ko":
            entry["sha256"] = "0" * 64
    (dist / "manifest.json").write_text(json.dumps(manifest))
    config = make_config("h", driver={"dist": str(dist)})
    _fails(config, code=2, says=("hsprobe.ko has sha256", "refusing to load a driver"))


def test_guest_without_the_driver(make_config: MakeConfig) -> None:
    config = make_config("d", driver={"guest_dir": "/lib/modules/none"})
    _fails(config, code=3, says=("the guest has no /lib/modules/none/hsproxy.ko", "driver.install"))


def test_debugger_port_closed(make_config: MakeConfig) -> None:
    config = make_config("p")
    _fails(
        config,
        "--debugger",
        "gdbstub:port=1",
        code=3,
        says=("gdbstub 127.0.0.1:1 refused the connection",),
    )


def test_agent_channel_on_a_machine_without_an_agent_port(
    make_config: MakeConfig, tmp_path: Path
) -> None:
    templates = standin_templates(tmp_path, "")
    config = make_config("a", pool={"template_dir": str(templates)})
    _fails(config, code=2, says=("field channel", "no guest agent port", 'channel = "ssh"'))
