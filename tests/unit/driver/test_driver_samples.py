"""`driver inspect` judges any driver, not only hsprobe: sample images built here with the
driver build's cross compiler, files that are no image at all, and reads that stay bounded
whatever the file (a directory, a device, a FIFO, a 3 GB sparse file)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.driver.inspection import Verdict, inspect_image
from harness.errors import InputError

from .conftest import DRIVERS

SAMPLES = Path(__file__).resolve().parent / "samples"
CC = "x86_64-w64-mingw32-gcc"
KERNEL = [
    "-shared",
    "-nostdlib",
    "-Wl,--subsystem,native",
    "-Wl,--entry,DriverEntry",
    "-Wl,--enable-reloc-section",
    "-Wl,--no-insert-timestamp",
    "-s",
]


def _build(out: Path, name: str, flags: list[str], libs: list[str]) -> Path:
    image = out / f"{name}.{'exe' if name == 'native' else 'sys'}"
    subprocess.run(
        [
            CC,
            "-O2",
            "-ffreestanding",
            "-mno-stack-arg-probe",
            *flags,
            "-o",
            str(image),
            str(SAMPLES / f"{name}.c"),
            *libs,
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run([str(DRIVERS / "tools" / "pe-checksum"), str(image)], check=True)
    return image


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which(CC) is None:
        pytest.fail(
            f"{CC} not installed: run `scripts/setup-host` (make test does it)", pytrace=False
        )
    out = tmp_path_factory.mktemp("samples")
    subprocess.run(
        [
            "x86_64-w64-mingw32-dlltool",
            "-d",
            str(SAMPLES / "fltmgr.def"),
            "-l",
            str(out / "libfltmgr.a"),
            "-k",
        ],
        check=True,
    )
    return {
        "plain": _build(out, "plain", KERNEL, ["-lntoskrnl"]),
        "empty": _build(out, "empty", KERNEL, []),
        "filter": _build(out, "filter", KERNEL, [str(out / "libfltmgr.a"), "-lntoskrnl"]),
        "lookup": _build(out, "lookup", KERNEL, ["-lntoskrnl"]),
        "user32": _build(out, "user32", KERNEL, ["-lntoskrnl", "-luser32"]),
        "native": _build(
            out,
            "native",
            ["-nostdlib", "-Wl,--subsystem,native", "-Wl,--entry,NtProcessStartup"],
            ["-lntdll"],
        ),
    }


def _findings(path: Path) -> dict[str, tuple[bool, str]]:
    return {f.check: (f.ok, f.detail) for f in inspect_image(path).findings}


def test_a_driver_without_driverproxy_is_judged_as_such(samples: dict[str, Path]) -> None:
    result = inspect_image(samples["plain"])
    assert result.verdict is Verdict.OK and result.kind == "driver", result.summary
    assert result.summary == "a kernel driver that does not use DriverProxy: every check passed"
    assert result.driverproxy == () and result.version is None
    found = _findings(samples["plain"])
    assert found["DriverProxy"] == (
        True,
        "not used: it neither imports nor names any DriverProxy routine",
    )
    assert found["kernel imports"] == (True, "ntoskrnl.exe")
    assert "routine exports" not in found  # hsprobe's own checks are not applied


def test_an_image_importing_nothing_is_not_ok(samples: dict[str, Path]) -> None:
    result = inspect_image(samples["empty"])
    assert result.verdict is Verdict.FAILED
    ok, detail = _findings(samples["empty"])["kernel imports"]
    assert not ok and detail.startswith("imports nothing")


def test_imports_from_other_kernel_modules_are_fine(samples: dict[str, Path]) -> None:
    result = inspect_image(samples["filter"])
    assert result.verdict is Verdict.OK, result.summary
    assert _findings(samples["filter"])["kernel imports"] == (True, "fltmgr.sys, ntoskrnl.exe")


def test_a_user_mode_import_fails(samples: dict[str, Path]) -> None:
    result = inspect_image(samples["user32"])
    assert result.verdict is Verdict.FAILED
    ok, detail = _findings(samples["user32"])["kernel imports"]
    assert not ok and "user-mode user32.dll" in detail


def test_driverproxy_found_by_name_for_run_time_lookup(samples: dict[str, Path]) -> None:
    result = inspect_image(samples["lookup"])
    assert result.verdict is Verdict.OK, result.summary
    assert result.driverproxy == (
        "IoDriverProxyCreateHotSwappableWorkerThread",
        "IoGetDriverProxyFeatures",
    )
    assert result.summary == "a kernel driver using DriverProxy: every check passed"
    assert "at run time" in _findings(samples["lookup"])["DriverProxy"][1]


def test_a_native_user_mode_program_is_not_a_driver(samples: dict[str, Path]) -> None:
    result = inspect_image(samples["native"])
    assert result.verdict is Verdict.NOT_DRIVER
    assert "native user-mode program (imports ntdll.dll)" in result.summary


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.mkdir(), "is a directory, not a driver image file"),
        (lambda p: os.mkfifo(p), "is a FIFO"),
        (None, "no such file"),
    ],
)
def test_what_is_not_a_file_is_named(tmp_path: Path, make: object, says: str) -> None:
    path = tmp_path / "x.sys"
    if callable(make):
        make(path)
    with pytest.raises(InputError, match=says):
        inspect_image(path)


def test_a_device_is_not_a_file() -> None:
    with pytest.raises(InputError, match="is a character device"):
        inspect_image(Path("/dev/zero"))


@pytest.mark.parametrize("head", [b"MZ", b"\0\0"])
def test_a_3gb_sparse_file_is_judged_without_reading_it(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "huge.sys"
    with path.open("wb") as f:
        f.write(head)
        f.truncate(3 << 30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = inspect_image(path)
    assert time.monotonic() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB
    assert result.verdict is Verdict.INVALID and result.sha256 is None
    assert ("larger than any driver image" if head == b"MZ" else "no MZ header") in result.summary


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/nonexistent/x.sys", "no such file"),
        ("/tmp", "is a directory"),
        ("/dev/null", "is a character device"),
    ],
)
def test_json_errors_are_json(path: str, says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["driver", "inspect", "--json", "--no-manifest", path]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == path and out["status"] == 2 and says in out["error"]


def test_json_for_any_driver(samples: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["driver", "inspect", "--json", str(samples["plain"])]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "driver" and out["verdict"] == "ok"


def test_decode_of_dev_zero_ends_with_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    assert main(["driver", "decode", "/dev/zero"]) == 2
    assert time.monotonic() - started < 5
    assert "not an hsprobe telemetry file" in capsys.readouterr().err


def test_decode_of_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["driver", "decode", str(tmp_path)]) == 2
    assert "is a directory, not a telemetry file" in capsys.readouterr().err


def test_decode_refuses_an_endless_telemetry_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import harness.cli.driver as cli

    monkeypatch.setattr(cli, "MAX_TELEMETRY", 4096)
    path = tmp_path / "long.hspt"
    with path.open("wb") as f:
        f.write(b"HSPT")
        f.truncate(1 << 30)
    assert main(["driver", "decode", str(path)]) == 2
    assert "larger than 4096 bytes" in capsys.readouterr().err
