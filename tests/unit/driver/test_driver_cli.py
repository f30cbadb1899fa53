"""`harness driver inspect|decode`: exit codes and one clear message, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from harness.cli import main
from harness.contract.jsonl import read_trace
from harness.driver.inspection import Inspection, Verdict

from .conftest import GOLDEN


def test_inspect_a_built_image_exits_0(dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["driver", "inspect", str(dist / "hsprobe2.sys")]) == 0
    out = capsys.readouterr().out
    assert "ok: hsprobe2 version 2: every check passed" in out
    assert "[ok] manifest: sha256 matches build" in out  # found next to the image


def test_inspect_json_is_the_inspection_model(
    dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["driver", "inspect", "--json", str(dist / "hsprobe.sys")]) == 0
    result = msgspec.json.decode(capsys.readouterr().out, type=Inspection)
    assert result.verdict is Verdict.OK and result.version == 1


def test_inspect_a_tampered_image_exits_1(
    dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray((dist / "hsprobe.sys").read_bytes())
    data[-1] ^= 1
    (tmp_path / "hsprobe.sys").write_bytes(bytes(data))
    code = main(
        [
            "driver",
            "inspect",
            "--manifest",
            str(dist / "manifest.json"),
            str(tmp_path / "hsprobe.sys"),
        ]
    )
    assert code == 1
    assert "[FAIL] manifest: sha256 differs" in capsys.readouterr().out


def test_inspect_without_a_manifest_skips_the_hash_check(
    dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(dist / "hsprobe.sys", tmp_path / "hsprobe.sys")
    assert main(["driver", "inspect", str(tmp_path / "hsprobe.sys")]) == 0
    assert "manifest" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "content", "code", "says"),
    [
        ("hsprobectl.exe", None, 1, "not a driver: subsystem WINDOWS_CUI"),
        ("notes.sys", b"plain text\n", 2, "invalid: not a PE image (no MZ header)"),
        ("cut.sys", b"cut", 2, "invalid: not a PE image"),
    ],
)
def test_inspect_non_drivers_get_a_verdict(
    dist: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    code: int,
    says: str,
) -> None:
    path = dist / name if content is None else tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main(["driver", "inspect", "--no-manifest", str(path)]) == code
    out = capsys.readouterr()
    assert says in out.out and "Traceback" not in out.err


def test_inspect_a_truncated_image(
    dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hsprobe.sys").write_bytes((dist / "hsprobe.sys").read_bytes()[:5000])
    assert main(["driver", "inspect", str(tmp_path / "hsprobe.sys")]) == 2
    assert "invalid: truncated" in capsys.readouterr().out


def test_inspect_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["driver", "inspect", "/nonexistent/hsprobe.sys"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "make -C drivers" in err


def test_inspect_a_broken_manifest(
    dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    shutil.copy(dist / "hsprobe.sys", tmp_path / "hsprobe.sys")
    assert main(["driver", "inspect", str(tmp_path / "hsprobe.sys")]) == 2
    assert "not a driver manifest" in capsys.readouterr().err


def test_inspect_without_pefile_names_the_extra(
    dist: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pefile", None)  # import pefile now raises ImportError
    assert main(["driver", "inspect", str(dist / "hsprobe.sys")]) == 2
    assert "pip install -e '.[driver]'" in capsys.readouterr().err


def test_decode_writes_a_trace(tmp_path: Path) -> None:
    out = tmp_path / "trace.jsonl"
    code = main(
        ["driver", "decode", str(GOLDEN / "telemetry-v2.hspt"), "--scenario", "s1", "-o", str(out)]
    )
    assert code == 0
    with out.open("rb") as f:
        header, records = read_trace(f)
        assert header.scenario == "s1" and header.source == "hsprobe"
        assert [r.seq for r in records] == list(range(1, 14))


def test_decode_a_non_telemetry_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.hspt").write_bytes(b"junk")
    assert main(["driver", "decode", str(tmp_path / "x.hspt")]) == 2
    assert "not an hsprobe telemetry file" in capsys.readouterr().err


def test_importing_the_driver_package_does_not_import_pefile() -> None:
    code = "import sys, harness.driver, harness.cli.driver; sys.exit('pefile' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
