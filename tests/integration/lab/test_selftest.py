"""`harness selftest` on the real Linux kernel through the lab target: each of the stand-in's
named kernel bugs caught by the checker alone (a file of its own, so that `make test`'s
processes run it beside the suite's runs in test_suite.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import harness

pytestmark = pytest.mark.integration

#: one bug per family the stand-in implements (all of them: ~10 min here, see the docs)
BUGS = (
    "lost-wakeup",
    "no-drain",
    "partial-switch",
    "swap-recreates-thread",
    "dispatch-level",
    "early-timeout",
)


def test_selftest_catches_the_named_bugs(lab_toml: Path, tmp_path: Path) -> None:
    mutants = [arg for bug in BUGS for arg in ("--mutant", bug)]
    proc = harness("selftest", "--target", f"lab:{lab_toml}", *mutants, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert (
        "SURVIVED" not in proc.stdout and f"mutation score {len(BUGS)}/{len(BUGS)}" in proc.stdout
    ), proc.stdout[-3000:]
    assert (tmp_path / "selftest.html").is_file()
