"""The docs' runnable blocks that need VMs (`sh runnable integration`), run as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docblocks import Block, blocks, run_block, scratch_checkout
from tests.integration.vm.conftest import libvirtd  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("libvirtd")]


@pytest.mark.parametrize(
    "block", [b for b in blocks() if b.runnable and b.tier == "integration"], ids=str
)
def test_a_runnable_block_runs_as_written(block: Block, tmp_path: Path) -> None:
    done = run_block(block, scratch_checkout(tmp_path), timeout=900)
    assert done.returncode == 0, f"{block} failed:\n{done.stdout[-3000:]}"
