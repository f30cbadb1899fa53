"""The build: manifest contents, incremental make, and clean static analysis of the C."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

from harness.driver.artifact import load_manifest

from .conftest import DRIVERS, make


def test_manifest_lists_every_artifact_with_its_hash(dist: Path) -> None:
    manifest = load_manifest(dist / "manifest.json")
    assert re.fullmatch(
        r"[0-9a-f]{12}(-dirty)?-[0-9a-f]{12}|nogit-[0-9a-f]{12}", manifest.build_id
    ), manifest.build_id
    assert {(a.name, a.version) for a in manifest.artifacts} == {
        ("hsprobe.sys", 1),
        ("hsprobe2.sys", 2),
        ("hsprobectl.exe", 0),
    }
    for entry in manifest.artifacts:
        data = (dist / entry.name).read_bytes()
        assert entry.sha256 == hashlib.sha256(data).hexdigest()
        assert entry.size == len(data)


def test_a_second_build_has_nothing_to_do(dist: Path) -> None:
    # `make -q` exits 0 only when every target is up to date
    proc = subprocess.run(["make", "-q", "-C", str(DRIVERS), "all"], check=False)
    assert proc.returncode == 0


def test_builds_are_reproducible(dist: Path, tmp_path: Path) -> None:
    # no timestamps in the images: the manifest hash identifies the sources, not the moment.
    # A second build from scratch, in a copy of the sources (the shared drivers/dist stays as
    # it is for the tests reading it meanwhile), gives the same bytes.
    copy = tmp_path / "drivers"
    shutil.copytree(DRIVERS, copy, ignore=shutil.ignore_patterns("build", "dist"))
    proc = subprocess.run(["make", "-s", "-C", str(copy), "all"], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    for image in ("hsprobe.sys", "hsprobe2.sys", "hsprobectl.exe"):
        assert (copy / "dist" / image).read_bytes() == (dist / image).read_bytes(), image


def test_static_analysis_is_clean() -> None:
    proc = make("analyze")  # cppcheck, then gcc -fanalyzer; fails the test on any finding
    assert proc.returncode == 0
