"""No secret reaches any output of a run: a KDNET key planted in debugger specs is searched
for in everything `harness run` printed and wrote, for specs that work, fail, are mistyped
or collide. A fake pykd (tests/unit/debug/fakepykd) echoes the connection string in its
errors, as a real engine's messages may."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FAKE_PYKD = Path(__file__).resolve().parent / "fakepykd"
HARNESS = str(Path(sys.executable).with_name("harness"))


@pytest.mark.parametrize(
    ("spec", "mode", "shows"),
    [
        ('pykd:kd="net:port=50000,key={S}"', "accept", "key=***"),
        ('pykd:kd="net:port=50000,key={S}"', "refuse", "key=***"),
        ('pykd:kd="net:port=50000,key={S}",timeout=ten', "accept", "option timeout"),
        ('pykdd:kd="net:port=1,key={S}"', "accept", "unknown debugger 'pykdd'"),
        ("pykd:kd=net:port=1,key={S}", "accept", "unknown option 'key'"),
        ("key={S}", "accept", "unknown debugger (not a name)"),
        (
            "pykd:host=nohost.invalid,user=u,identity=i,known_hosts=/nonexistent,"
            'kd="net:port=1,key={S}"',
            "accept",
            "known_hosts",
        ),
    ],
)
def test_a_planted_key_appears_in_no_output(
    tmp_path: Path, spec: str, mode: str, shows: str
) -> None:
    secret = f"PLANTED{os.getpid()}x{abs(hash(spec)) % 10**6}"
    env = dict(os.environ, PYTHONPATH=str(FAKE_PYKD), HSPROBE_FAKE_PYKD=mode)
    proc = subprocess.run(
        [
            HARNESS,
            "run",
            "-k",
            "swap_while_idle",
            "--out",
            str(tmp_path / "out"),
            "--debugger",
            spec.format(S=secret),
        ],
        capture_output=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    outputs = {"stdout": proc.stdout, "stderr": proc.stderr}
    for path in tmp_path.rglob("*"):
        if path.is_file():
            outputs[str(path)] = path.read_bytes()
    assert len(outputs) > 3, "the run wrote no reports"
    leaks = [name for name, data in outputs.items() if secret.encode() in data]
    assert not leaks, f"the planted key is in {leaks}"
    # the run did reach the debugger and said why it failed: the test is not vacuous
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert shows in junit, junit[-2000:]
