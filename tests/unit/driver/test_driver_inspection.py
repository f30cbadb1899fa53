"""pefile inspection of the built images, of altered copies and of files that are no driver."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pefile
import pytest

from harness.driver.artifact import DriverBuild, load_manifest
from harness.driver.inspection import PROXY_IMPORTS, Verdict, inspect_image

from .conftest import DRIVERS


def _copy(src: Path, dst: Path, old: bytes = b"", new: bytes = b"") -> Path:
    """A copy with `old` replaced by `new` and the checksum set again, as a build would."""
    data = src.read_bytes()
    if old:
        assert len(old) == len(new) and old in data
        data = data.replace(old, new, 1)
    dst.write_bytes(data)
    subprocess.run([str(DRIVERS / "tools" / "pe-checksum"), str(dst)], check=True)
    return dst


def _failed(path: Path, dist: Path) -> dict[str, str]:
    result = inspect_image(path, load_manifest(dist / "manifest.json"))
    assert result.verdict is Verdict.FAILED, result.summary
    return {f.check: f.detail for f in result.findings if not f.ok}


@pytest.mark.parametrize("version", [1, 2])
def test_built_images_pass_every_check(dist: Path, version: int) -> None:
    build = DriverBuild.load(dist)
    result = inspect_image(build.image(version), build.manifest)
    assert result.verdict is Verdict.OK, result.summary
    assert result.version == version
    assert result.subsystem == "NATIVE"
    assert set(result.imports) <= {"ntoskrnl.exe", "hal.dll"}
    assert "HspWorkerRoutine" in result.exports
    assert result.kind == "hsprobe"
    assert {f.check for f in result.findings} >= {
        "machine",
        "kernel imports",
        "hsprobe imports",
        "routine exports",
        "relocations",
        "checksum",
        "version",
        "DriverProxy",
        "DriverProxy routines",
        "module name",
        "manifest",
    }


def test_the_two_versions_and_the_driverproxy_routines_each_calls(dist: Path) -> None:
    # imported statically or looked up by name at run time: either way they are seen
    v1 = inspect_image(dist / "hsprobe.sys")
    v2 = inspect_image(dist / "hsprobe2.sys")
    assert (v1.version, v2.version) == (1, 2)
    assert set(v1.driverproxy) >= PROXY_IMPORTS[1]
    assert set(v2.driverproxy) >= PROXY_IMPORTS[2]
    assert v1.sha256 != v2.sha256


def test_stripped_relocations_fail(dist: Path, tmp_path: Path) -> None:
    pe = pefile.PE(str(dist / "hsprobe.sys"))
    pe.FILE_HEADER.Characteristics |= 0x0001  # IMAGE_FILE_RELOCS_STRIPPED
    pe.write(str(tmp_path / "hsprobe.sys"))
    subprocess.run(
        [str(DRIVERS / "tools" / "pe-checksum"), str(tmp_path / "hsprobe.sys")], check=True
    )
    failed = {
        f.check: f.detail for f in inspect_image(tmp_path / "hsprobe.sys").findings if not f.ok
    }
    assert list(failed) == ["relocations"] and failed["relocations"].startswith("stripped")


def test_a_version_word_contradicting_the_imports_fails(dist: Path, tmp_path: Path) -> None:
    # hsprobe2.sys renamed and claiming to be version 1 in its export directory name
    fake = _copy(
        dist / "hsprobe2.sys", tmp_path / "hsprobe.sys", b"hsprobe2.sys\0", b"hsprobe.sys\0\0"
    )
    failed = _failed(fake, dist)
    assert "manifest" in failed  # different bytes from the hsprobe.sys that was built
    assert inspect_image(fake).version == 2


def test_altered_bytes_fail_the_checksum_and_manifest(dist: Path, tmp_path: Path) -> None:
    data = bytearray((dist / "hsprobe.sys").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "hsprobe.sys").write_bytes(bytes(data))
    failed = _failed(tmp_path / "hsprobe.sys", dist)
    assert sorted(failed) == ["checksum", "manifest"]
    assert "sha256 differs" in failed["manifest"]


def test_an_unlisted_file_fails_the_manifest_check(dist: Path, tmp_path: Path) -> None:
    other = shutil.copy(dist / "hsprobe.sys", tmp_path / "renamed.sys")
    assert "not listed" in _failed(Path(other), dist)["manifest"]


def test_a_foreign_import_dll_fails(dist: Path, tmp_path: Path) -> None:
    bad = _copy(
        dist / "hsprobe.sys", tmp_path / "hsprobe.sys", b"ntoskrnl.exe\0", b"fltmgr.sys\0\0\0"
    )
    result = inspect_image(bad)
    assert result.verdict is Verdict.FAILED
    found = {f.check: (f.ok, f.detail) for f in result.findings}
    assert found["kernel imports"][0]  # a kernel module: fine for a driver...
    assert not found["hsprobe imports"][0] and "fltmgr.sys" in found["hsprobe imports"][1]


def test_a_wrong_module_name_fails(dist: Path, tmp_path: Path) -> None:
    bad = _copy(dist / "hsprobe.sys", tmp_path / "hsprobe.sys", b"hsprobe.sys\0", b"hsprobx.sys\0")
    result = inspect_image(bad)
    assert [f.check for f in result.findings if not f.ok] == ["module name"]


def test_a_missing_routine_export_fails(dist: Path, tmp_path: Path) -> None:
    bad = _copy(
        dist / "hsprobe.sys",
        tmp_path / "hsprobe.sys",
        b"HspWorkerRoutineEp2\0",
        b"HspWorkerRoutineXX2\0",
    )
    failed = {f.check: f.detail for f in inspect_image(bad).findings if not f.ok}
    assert failed == {"routine exports": "missing HspWorkerRoutineEp2"}


def test_a_user_mode_program_is_not_a_driver(dist: Path) -> None:
    result = inspect_image(dist / "hsprobectl.exe")
    assert result.verdict is Verdict.NOT_DRIVER
    assert "WINDOWS_CUI" in result.summary and not result.findings


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "no MZ header"),
        (b"hello, not a driver\n", "no MZ header"),
        (b"MZ" + b"\xff" * 200, "not a valid PE image"),
    ],
)
def test_non_pe_files_get_an_invalid_verdict(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.sys"
    path.write_bytes(content)
    result = inspect_image(path)
    assert result.verdict is Verdict.INVALID
    assert reason in result.summary


@pytest.mark.parametrize("keep", [200, 1024, 4096, -1])
def test_truncated_images_get_an_invalid_verdict(dist: Path, tmp_path: Path, keep: int) -> None:
    data = (dist / "hsprobe.sys").read_bytes()
    path = tmp_path / "hsprobe.sys"
    path.write_bytes(data[:keep])
    result = inspect_image(path)
    assert result.verdict is Verdict.INVALID
    assert "truncated" in result.summary or "not a valid PE image" in result.summary
