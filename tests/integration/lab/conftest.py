"""The Linux stand-in as a lab: the drivers built, the stand-in image built, libvirtd up, and
a lab config naming them with a pool of its own (unique per test process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ..vm.conftest import domain_names as domains
from ..vm.conftest import harness_cli

__all__ = [
    "DIST",
    "LIBVIRTS_PORT",
    "REPO",
    "MakeConfig",
    "domains",
    "harness",
    "run",
    "standin_templates",
]

REPO = Path(__file__).resolve().parents[3]
DIST = REPO / "drivers" / "dist" / "linux"

MakeConfig = Callable[..., Path]

#: the stand-in template's guest agent port (a socket of the harness's own), and libvirt's
OWN_PORT = """    <channel type='unix'>
      <source mode='bind' path='{{ workdir }}/agent.sock'/>
      <target type='virtio' name='org.hotswap.agent.0'/>
    </channel>"""
LIBVIRTS_PORT = """    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>"""


PROBE_PORT = """    <channel type='unix'>
      <source mode='bind' path='{{ workdir }}/probe.sock'/>
      <target type='virtio' name='org.hotswap.probe.0'/>
    </channel>"""


def standin_templates(tmp: Path, agent_port: str, *, resident: bool = True) -> Path:
    """The templates, with `agent_port` in place of the stand-in's own agent port, and
    without the resident hsprobectl's port unless `resident`."""
    templates = tmp / "templates"
    shutil.copytree(REPO / "vm" / "templates", templates)
    standin = templates / "linux-standin.xml.j2"
    text = standin.read_text()
    for port in (OWN_PORT, PROBE_PORT):
        assert port in text, "the stand-in template's ports changed: update this helper"
    text = text.replace(OWN_PORT, agent_port)
    standin.write_text(text if resident else text.replace(PROBE_PORT, ""))
    return templates


def run(cmd: list[str], timeout: float = 1800) -> str:
    done = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}{done.stdout}"
    return done.stdout


def harness(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """`harness ARGS` as a user runs it, in a fresh process."""
    return harness_cli(*args, timeout=timeout)


@pytest.fixture(scope="session")
def standin_image() -> Path:
    """drivers/dist/linux built, then the stand-in image built from it (both cached).
    HS_STANDIN_IMAGES=DIR builds into DIR instead of the shared images directory."""
    # the daemons (the headers and the rest come with scripts/setup-host, as make test runs it)
    subprocess.run(
        [str(REPO / "scripts/setup-host"), "--services"],
        cwd=REPO,
        check=True,
        capture_output=True,
        env={**os.environ, "VENV": sys.prefix},
    )
    run(["make", "-C", "drivers", "linux"])
    images = os.environ.get("HS_STANDIN_IMAGES")
    build = [str(REPO / "vm/standin/build"), *([images] if images else [])]
    return Path(run(build).strip().splitlines()[-1])


_count = iter(range(1000))


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="session")
def make_config(standin_image: Path, tmp_path_factory: pytest.TempPathFactory) -> MakeConfig:
    """Write a lab config of a pool of its own; keyword tables override or add fields (the
    top level is the table ""). The channel is the guest agent, as in lab/linux-standin.toml."""

    def make(tag: str = "", *, size: int = 1, **tables: dict[str, object]) -> Path:
        name = f"lab{os.getpid() % 10000}{tag}{next(_count)}"[:20]
        data: dict[str, dict[str, object]] = {
            "": {"profile": "linux", "convention": "documented", "channel": "agent"},
            "pool": {
                "profile": "linux-standin",
                "image": str(standin_image),
                "name": name,
                "size": size,
                "memory_mib": 384,
                "boot_timeout": 600.0,
            },
            "ssh": {},
            "driver": {"dist": str(DIST)},
            "debugger": {"watchdog": 60.0},
            "debugger.pykd": {"host": "local", "engine": "gdbstub"},
            "timeouts": {},
        }
        for table, fields in tables.items():
            data.setdefault(table, {}).update(fields)
        lines = []
        for table, fields in data.items():
            if table:
                lines.append(f"[{table}]")
            lines += [f"{key} = {_toml(value)}" for key, value in fields.items()]
        path = tmp_path_factory.mktemp("lab") / "lab.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    return make


@pytest.fixture(scope="session")
def lab_toml(make_config: MakeConfig) -> Path:
    """The config most tests share: two machines, as `-j 2` needs."""
    return make_config("s", size=2)
