"""Bad input through the CLI: one clear message each, non-zero exit, no traceback, nothing
left running."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.vm.gdbstub import free_port
from tests.integration.vm.conftest import MakeConfig, domain_names, harness_cli

pytestmark = pytest.mark.integration


def up(tmp_path: Path, lines: list[str], *extra: str) -> tuple[int, str, Path]:
    path = tmp_path / "pool.toml"
    path.write_text("[vm]\n" + "\n".join(lines) + "\n")
    done = harness_cli("vm", "up", str(path), *extra)
    return done.returncode, done.stderr, path


def assert_one_clear_message(code: int, err: str, *needles: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("harness vm: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_missing_image(make_config: MakeConfig, tmp_path: Path) -> None:
    name = make_config("i").name
    code, err, path = up(tmp_path, [f'name = "{name}"', 'image = "/nonexistent/testguest"'])
    assert_one_clear_message(code, err, f"{path}", "field image", "vm/testguest/build")
    assert domain_names(f"hs-{name}-") == []


def test_busy_gdbstub_port(make_config: MakeConfig, tmp_path: Path) -> None:
    config = make_config("p")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err, _ = up(
            tmp_path,
            [f'name = "{config.name}"', f'image = "{config.image}"'],
            "--gdbstub",
            str(port),
        )
    assert_one_clear_message(code, err, f"127.0.0.1:{port} is busy")
    assert domain_names(f"hs-{config.name}-") == []


def test_unreachable_libvirt_uri(make_config: MakeConfig, tmp_path: Path) -> None:
    config = make_config("u")
    uri = f"qemu+tcp://127.0.0.1:{free_port()}/system"  # nothing listens there
    code, err, _ = up(
        tmp_path, [f'name = "{config.name}"', f'image = "{config.image}"', f'uri = "{uri}"']
    )
    assert_one_clear_message(code, err, f"cannot connect to libvirt at {uri}")
    assert code == 3
    done = harness_cli("vm", "gc", "--uri", uri)
    assert_one_clear_message(done.returncode, done.stderr, "cannot connect to libvirt")


def test_broken_template(make_config: MakeConfig, tmp_path: Path) -> None:
    config = make_config("t")
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "linux-testguest.xml.j2").write_text("<domain>\n{% for x in %}\n</domain>\n")
    code, err, _ = up(
        tmp_path,
        [f'name = "{config.name}"', f'image = "{config.image}"', f'template_dir = "{templates}"'],
    )
    assert_one_clear_message(code, err, "linux-testguest.xml.j2:2", "fix the template")
    assert domain_names(f"hs-{config.name}-") == []
    assert not (config.state / "machines" / f"hs-{config.name}-0").exists()


def test_a_guest_that_never_prints_its_marker(make_config: MakeConfig, tmp_path: Path) -> None:
    config = make_config("n")
    code, err, _ = up(
        tmp_path,
        [
            f'name = "{config.name}"',
            f'image = "{config.image}"',
            'boot_marker = "NEVER PRINTED"',
            "boot_timeout = 3.0",
        ],
    )
    assert_one_clear_message(code, err, f"hs-{config.name}-0 did not boot", "NEVER PRINTED")
    assert code == 3
    assert domain_names(f"hs-{config.name}-") == []
