"""The docs, as a user follows them: runnable blocks run, command lines parse, links
resolve, and nothing points outside the project (a user's clone has nothing beside it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.docblocks import (
    REPO,
    Block,
    blocks,
    check_line,
    docs,
    harness_lines,
    run_block,
    scratch_checkout,
)

UNIT = [b for b in blocks() if b.runnable and b.tier == "unit"]


def test_the_docs_have_runnable_blocks_in_both_tiers() -> None:
    runnable = [b for b in blocks() if b.runnable]
    assert {b.tier for b in runnable} == {"unit", "integration"}
    assert any(b.doc == "README.md" for b in runnable)


@pytest.mark.parametrize("block", UNIT, ids=str)
def test_a_runnable_block_runs_as_written(block: Block, tmp_path: Path) -> None:
    done = run_block(block, scratch_checkout(tmp_path), timeout=300)
    assert done.returncode == 0, f"{block} failed:\n{done.stdout[-3000:]}"


@pytest.mark.parametrize(("block", "line"), harness_lines(), ids=lambda x: str(x)[:60])
def test_every_documented_command_line_parses(block: Block, line: str) -> None:
    assert check_line(line) == [], f"{block}: {line}"


def test_check_line_catches_drift() -> None:
    assert check_line("harness run --out DIR --repeat N") == []
    assert check_line("harness vm gc --dry-run --pool P") == []
    assert check_line("harness run --outdir DIR") == ["run has no option --outdir"]
    assert check_line("harness vm up CONFIG --hold --gdbstubs") == ["vm has no option --gdbstubs"]
    assert check_line("harness launch") == ["no command 'launch'"]


def test_nothing_points_outside_the_project() -> None:
    tracked = subprocess.run(
        ["git", "grep", "-l", "-E", r"\.\./shared/|shared/reference/"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    offenders = [f for f in tracked.stdout.split() if not f.startswith("tests/")]
    assert offenders == [], "these name files a user's clone does not have"


_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", docs(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(doc: Path) -> None:
    for target in _LINK.findall(doc.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_no_file_carries_a_merge_conflict_marker() -> None:
    found = subprocess.run(
        ["git", "grep", "-n", "-E", "^(<<<<<<<|>>>>>>>) "],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == "", "a merge left its conflict markers:\n" + found.stdout
