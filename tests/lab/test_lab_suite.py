"""The scenario suite on a real Windows lab. Opt-in: pytest tests/lab --lab CONFIG."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main

pytestmark = pytest.mark.lab


def test_suite_passes_on_the_lab(lab_config: str, tmp_path: Path) -> None:
    """Every scenario on the lab guest is pass or not applicable (the lab target must exist)."""
    assert main(["run", "--target", f"lab:{lab_config}", "--out", str(tmp_path)]) == 0
