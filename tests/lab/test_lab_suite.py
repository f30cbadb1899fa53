"""The scenario suite on a real Windows lab guest. Opt-in: pytest tests/lab --lab CONFIG
(a lab config such as lab/windows11-gdbstub.toml or lab/windows11-vbs-kdnet.toml); skipped
with that reason otherwise. What the first run must confirm: docs/lab-target.md."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.lab.config import load_lab_config
from harness.lab.manifest import driver_hashes
from harness.lab.session import close_sessions
from harness.targets import open_target
from harness.targets.lab import LabTarget

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


def _debugger(config_path: str) -> str:
    return "pykd" if load_lab_config(config_path).debugger.pykd is not None else "gdbstub"


def test_config_names_a_windows_guest(lab_config: str) -> None:
    config = load_lab_config(lab_config)
    assert config.profile == "windows", (
        "tests/lab is the Windows run; the stand-in's is in tests/integration/lab"
    )


def test_guest_prepares_with_the_manifests_driver(lab_config: str) -> None:
    """Services created, version 1 started, hashes equal the manifest's, build recorded."""
    config = load_lab_config(lab_config)
    target = open_target(f"lab:{lab_config}")
    try:
        assert isinstance(target, LabTarget)
        env = target.environment
        assert re.fullmatch(r"\d{5}\.\d+", env["guest_build"]), env["guest_build"]
        files = ["hsprobe.sys", "hsprobe2.sys", "hsprobectl.exe"]
        expected = driver_hashes(Path(config.driver.dist), files, config.source)
        assert {f: env[f"sha256 {f}"] for f in files} == expected
        assert target.info.image_version == 1
    finally:
        target.close()
        close_sessions()


def test_suite_passes_on_the_lab(lab_config: str, tmp_path: Path) -> None:
    """Every scenario is pass or not applicable, the debugger-checked ones with the lab's
    debugger; every case records the guest build and the driver hashes."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--target",
            f"lab:{lab_config}",
            "--debugger",
            _debugger(lab_config),
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    cases = json.loads((tmp_path / "results.json").read_text())["cases"]
    assert cases and all(c["environment"].get("sha256 hsprobe.sys") for c in cases)
