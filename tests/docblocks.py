"""The documentation, read the way a user follows it: fenced shell blocks marked
`sh runnable` (or `sh runnable integration`, for those that need VMs) are run as written,
from a scratch copy of the checkout, and every `harness` command line in any block is
checked against the real argument parsers, so the docs cannot drift from the tool."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import shlex
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.M | re.S)


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    info: str
    text: str

    @property
    def runnable(self) -> bool:
        return self.info.split()[:2] == ["sh", "runnable"]

    @property
    def tier(self) -> str:
        return "integration" if "integration" in self.info.split() else "unit"

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}"


def docs() -> list[Path]:
    """Every Markdown file the project ships (tracked, or new beside tracked ones)."""
    found = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return [REPO / name for name in found.stdout.split()]


def blocks() -> list[Block]:
    out = []
    for path in docs():
        text = path.read_text()
        for m in _FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            out.append(Block(str(path.relative_to(REPO)), line, m[1].strip(), m[2]))
    return out


def scratch_checkout(where: Path) -> Path:
    """A directory that looks like the checkout (links to its files and .venv) but keeps
    what the commands write (out/, pools, logs) to itself."""
    for entry in REPO.iterdir():
        if entry.name not in {"out", ".git"}:
            (where / entry.name).symlink_to(entry)
    return where


def run_block(block: Block, where: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run `block` with bash -e (a failing command fails the block), in its own process
    group, killed whole afterwards so that nothing it started outlives it."""
    proc = subprocess.Popen(
        ["bash", "-e", "-o", "pipefail", "-c", block.text],
        cwd=where,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "HARNESS_LOG_DIR": str(where / "logs")},
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


# -- `harness ...` lines against the real parsers


def _parser(command: str) -> argparse.ArgumentParser:
    from harness.cli import COMMANDS

    parser = argparse.ArgumentParser(prog=f"harness {command}")
    importlib.import_module(COMMANDS[command][0]).add_arguments(parser)
    return parser


def _options(parser: argparse.ArgumentParser, words: list[str]) -> set[str]:
    """Option strings of `parser` and of the sub-action `words` name, if any."""
    found = {o for a in parser._actions for o in a.option_strings}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word in words:
                if word in action.choices:
                    found |= _options(action.choices[word], [])
    return found


def harness_lines() -> list[tuple[Block, str]]:
    """Every line in a fenced block that runs `harness` (bare or from .venv/bin)."""
    out = []
    for block in blocks():
        for line in block.text.splitlines():
            line = line.split("#")[0].strip()
            if re.match(r"^(\.venv/bin/)?harness \w", line):
                out.append((block, line))
    return out


def check_line(line: str) -> list[str]:
    """What in a documented `harness` command line the real parsers do not know."""
    from harness.cli import COMMANDS

    words = shlex.split(line.replace("|", " "), comments=False)[1:]
    if words[0] not in COMMANDS:
        return [f"no command {words[0]!r}"]
    parser = _parser(words[0])
    known = _options(parser, words[1:])
    used = {re.sub(r"[\[\]]|=.*", "", w) for w in words if w.lstrip("[").startswith("--")}
    return [f"{words[0]} has no option {o}" for o in sorted(used - known)]
