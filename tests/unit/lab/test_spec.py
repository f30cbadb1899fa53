"""The lab target's spec and the lab selftest's bug list, checked without a machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.lab.selftest import standin_bugs
from harness.targets.lab import LabTarget

from .conftest import REPO, config_text


def test_spec_options_are_typed(labdir: Path) -> None:
    (labdir / "lab.toml").write_text(config_text(labdir))
    config = LabTarget.check_spec(f"lab:{labdir / 'lab.toml'},feature=disabled,bugs=a+b")
    assert config.profile == "linux"
    with pytest.raises(ConfigError, match="feature='maybe': use one of blocked, disabled, enabled"):
        LabTarget.check_spec(f"lab:{labdir / 'lab.toml'},feature=maybe")
    with pytest.raises(ConfigError, match="unknown lab target option 'colour'"):
        LabTarget.check_spec(f"lab:{labdir / 'lab.toml'},colour=red")
    with pytest.raises(ConfigError, match="needs a config file"):
        LabTarget.check_spec("lab")


def test_standin_bugs_are_the_mutant_names_its_module_carries(tmp_path: Path) -> None:
    (tmp_path / "hsproxy.ko").write_bytes(b"\x7fELF\0lost-wakeup\0no-drain\0unrelated\0")
    assert sorted(standin_bugs(tmp_path)) == ["lost-wakeup", "no-drain"]
    with pytest.raises(ConfigError, match="make -C drivers linux"):
        standin_bugs(tmp_path / "absent")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--target", "lab:/nonexistent/lab.toml"], "no such lab config file"),
        (["run", "--target", "lab"], "needs a config file"),
        (["selftest", "--target", "lab:/nonexistent/lab.toml"], "no such lab config file"),
    ],
)
def test_cli_bad_lab_input_is_one_message(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_bug_pass_stops_at_its_first_catch() -> None:
    from harness.lab.selftest import _caught, _StopAtCatch
    from harness.scenarios.runner import _Options, run_options

    stop = _StopAtCatch()
    target = "sim:mutant=bad-parameters-accepted"
    run = run_options(
        _Options(target=target, assertions=False), on_case=stop.caught, plugins=(stop,)
    )
    full = run_options(_Options(target=target, assertions=False))
    assert _caught(run.cases[-1]) and run.cases[-1].violations
    assert not any(_caught(c) for c in run.cases[:-1])
    assert len(run.cases) < len(full.cases)
