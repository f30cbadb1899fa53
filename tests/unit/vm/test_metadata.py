"""Ownership metadata: written by the templates, read back, and liveness of the owner."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness.vm.config import DEFAULT_TEMPLATE_DIR
from harness.vm.metadata import Owner, process_start_time
from harness.vm.template import render
from tests.unit.vm.conftest import Context


def test_owner_round_trips_through_the_rendered_domain(tmp_path: Path, context: Context) -> None:
    owner = Owner.current("tg", tmp_path / "hs-tg-0", run_id="run42")
    xml = render(DEFAULT_TEMPLATE_DIR, "linux-testguest", **context(metadata=owner))
    assert Owner.from_domain_xml(xml) == owner


def test_domains_without_harness_metadata_are_not_ours() -> None:
    assert Owner.from_domain_xml("<domain><name>x</name></domain>") is None
    assert Owner.from_domain_xml("<domain><metadata><other/></metadata></domain>") is None
    assert Owner.from_domain_xml("not xml") is None


def test_this_process_is_alive_and_a_reaped_one_is_not(tmp_path: Path) -> None:
    me = Owner.current("tg", tmp_path)
    assert me.pid == os.getpid() and me.is_alive()
    child = subprocess.Popen(["true"])
    child.wait()
    assert process_start_time(child.pid) is None
    dead = Owner(
        run_id="r", pool="tg", pid=child.pid, start_time=me.start_time, host=me.host, workdir=""
    )
    assert not dead.is_alive()


def test_a_reused_pid_with_another_start_time_is_dead(tmp_path: Path) -> None:
    me = Owner.current("tg", tmp_path)
    reused = Owner(
        run_id="r", pool="tg", pid=me.pid, start_time=me.start_time + 1, host=me.host, workdir=""
    )
    assert not reused.is_alive()


def test_an_owner_on_another_host_counts_as_alive(tmp_path: Path) -> None:
    me = Owner.current("tg", tmp_path)
    remote = Owner(run_id="r", pool="tg", pid=1, start_time=0, host=me.host + "-other", workdir="")
    assert remote.is_alive()


def test_process_start_time_survives_odd_command_names(tmp_path: Path) -> None:
    script = tmp_path / "a b) c"
    script.write_text("#!/bin/sh\nsleep 5\n")
    script.chmod(0o755)
    child = subprocess.Popen([str(script)])
    try:
        assert isinstance(process_start_time(child.pid), int)
    finally:
        child.kill()
        child.wait()


def test_a_kept_owner_round_trips_and_is_never_an_orphan(tmp_path: Path, context: Context) -> None:
    kept = Owner.provisioned("standin", tmp_path / "hs-standin-0")
    xml = render(DEFAULT_TEMPLATE_DIR, "linux-standin", **context(metadata=kept))
    assert 'kept="yes"' in xml
    back = Owner.from_domain_xml(xml)
    assert back == kept and back.kept and back.pid == 0
    assert back.is_alive()  # no process to outlive: gc leaves it alone
    plain = render(
        DEFAULT_TEMPLATE_DIR,
        "linux-standin",
        **context(metadata=Owner.current("standin", tmp_path)),
    )
    assert "kept=" not in plain
