"""The hypervisor role on this machine, for real, through its molecule scenario (delegated
driver): converge, converge again with nothing changed (molecule's idempotence step fails
on any change), then pytest-testinfra checks the host's state (ansible/roles/hypervisor/
molecule/default/tests/test_host.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROLE = Path(__file__).resolve().parents[3] / "ansible" / "roles" / "hypervisor"


def test_hypervisor_role_converges_twice_second_run_changes_nothing() -> None:
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
        "HARNESS_VENV": sys.prefix,
        "NO_COLOR": "1",
        "PY_COLORS": "0",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    done = subprocess.run(
        [f"{venv_bin}/molecule", "test"],
        cwd=ROLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    assert re.search(r"idempotence\S*: Executed: Successful", out), out[-3000:]
    assert re.search(r"verify\S*: Executed: Successful", out), out[-3000:]
    # the second converge's recap: every task ok or skipped, none changed
    recaps = re.findall(r"localhost\s+: ok=\d+\s+changed=(\d+)", out)
    assert len(recaps) >= 2 and recaps[-1] == "0", recaps
