"""Each way of reaching the guest carries scenarios across reverts on the real stand-in:
the guest agent on the stand-in's own socket with the resident hsprobectl (the suite's way,
lab/linux-standin.toml), SSH (reconnected after each revert) with the resident hsprobectl,
and the guest agent through libvirt's agent API (the way in for guests whose agent sits on
org.qemu.guest_agent.0, Windows') with one process per hsprobectl command, as on Windows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import actions as act
from harness.lab.channel import AgentChannel, GuestChannel
from harness.lab.probe import ServedChannel
from harness.lab.session import close_sessions
from harness.targets import open_target
from harness.targets.lab import LabTarget

from .conftest import DIST, LIBVIRTS_PORT, MakeConfig, domains, standin_templates

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["agent socket, resident", "ssh, resident", "libvirt agent"])
def test_a_channel_carries_scenarios_across_reverts(
    path: str, make_config: MakeConfig, tmp_path: Path
) -> None:
    if path == "agent socket, resident":
        config = make_config("r")
    elif path == "ssh, resident":
        config = make_config("c", **{"": {"channel": "ssh"}})
    else:  # libvirt's agent port in place of the stand-in's own, and no resident hsprobectl
        templates = standin_templates(tmp_path, LIBVIRTS_PORT, resident=False)
        config = make_config("g", pool={"template_dir": str(templates)})
    manifest = json.loads((DIST / "manifest.json").read_text())
    tool = next(a["sha256"] for a in manifest["artifacts"] if a["name"] == "hsprobectl")
    try:
        for scenario in range(3):  # the second and third start from a revert
            target = open_target(f"lab:{config}")
            assert isinstance(target, LabTarget)
            channel = target.lab.channel
            if path == "libvirt agent":
                assert isinstance(channel, AgentChannel)
                assert not target.lab.machine.agent_socket.exists()  # libvirt's way in
            else:
                assert isinstance(channel, ServedChannel)
                inner = GuestChannel if path.startswith("ssh") else AgentChannel
                assert isinstance(channel.inner, inner)
            assert target.info.image_version == 1, scenario
            assert target.do(act.Gate(closed=True)).status == 0
            assert target.do(act.Gate(closed=False)).status == 0
            assert channel.sha256(target.lab.profile.tool) == tool
            assert b"hsprobe" in channel.read("/proc/modules")
            target.close()
    finally:
        close_sessions()
    name = config.read_text().split('name = "')[1].split('"')[0]
    assert domains(f"hs-{name}-") == []
