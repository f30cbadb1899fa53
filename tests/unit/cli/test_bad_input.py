"""Every command fails the same way on bad input: exit 2, one line naming what was wrong,
no traceback, and nothing run first (a selftest that runs for a minute and then refuses its
--out is not a message, it is a wasted minute)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cli import main
from tests.unit.vm.conftest import make_testguest


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def last_line(err: str) -> str:
    lines = err.strip().splitlines()
    return lines[-1] if lines else ""


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    file = tmp_path / "file"
    file.write_text("")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return {
        "file": file,
        "fifo": fifo,
        "dir": tmp_path,
        "null": Path("/dev/null"),
        "under-file": file / "sub",
    }


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "--repeat", "0"], "--repeat: 0: use a whole number of at least 1"),
        (["run", "--repeat", "-3"], "use a whole number of at least 1"),
        (["run", "--repeat", "many"], "'many' is not a whole number"),
        (["vm", "up", "x.toml", "--gdbstub", "70000"], "port 70000 is out of range; use 1-65535"),
        (["vm", "up", "x.toml", "--gdbstub", "0"], "port 0 is out of range"),
        (["vm", "up", "x.toml", "--gdbstub", "-1"], "is out of range"),
        (["vm", "up", "x.toml", "--gdbstub", "http"], "'http' is not a port number"),
        (["vm", "list", "--timeout", "nan"], "nan seconds: use a finite number greater than 0"),
        (["vm", "gc", "--timeout", "-1"], "use a finite number greater than 0"),
        (["vm", "gc", "--timeout", "inf"], "use a finite number greater than 0"),
    ],
)
def test_out_of_range_arguments_are_usage_errors(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert says in last_line(err) and "Traceback" not in err


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("file", "is not a directory"),
        ("null", "is not a directory"),
        ("fifo", "is not a directory"),
        ("under-file", "cannot be created"),
    ],
)
@pytest.mark.parametrize(
    "command", [["run", "-k", "feature_probe"], ["selftest", "--mutant", "irql-leak"]]
)
def test_an_output_directory_that_cannot_be_one_is_refused_before_anything_runs(
    command: list[str],
    where: str,
    says: str,
    places: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run([*command, "--out", str(places[where])], capsys)
    assert code == 2, err
    assert out == "" and "mutants caught" not in err  # nothing ran
    assert str(places[where]) in last_line(err) and says in last_line(err)


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("dir", "is a directory, not a file"),
        ("fifo", "is a named pipe (FIFO), not a file"),
        ("null", "is a character device, not a file"),
        ("under-file", "no such file (a parent is not a directory)"),
    ],
)
def test_vm_up_names_what_its_config_path_is(
    where: str, says: str, places: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["vm", "up", str(places[where])], capsys)
    assert code == 2
    assert err.strip() == f"harness vm: error: {places[where]}: {says}"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('boot_marker = "READY("', "field boot_marker: /READY(/ is not a valid regular expression"),
        ("vcpus = -4", "field vcpus: Expected `int` >= 1"),
        ("memory_mib = 99999999999", "field memory_mib: Expected `int` <= 1048576"),
        ("boot_timeout = nan", "field boot_timeout: Expected `float` > 0.0"),
        ('profile = "windows12"', "field profile: unknown profile 'windows12'"),
    ],
)
def test_vm_up_refuses_a_bad_pool_before_libvirt(
    text: str, says: str, open_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = make_testguest(open_dir / "tg")
    pool = tmp_path / "pool.toml"
    # an unreachable libvirt: had the config got that far, the error would say so
    pool.write_text(f'image = "{image}"\nuri = "qemu+unix:///system?socket=/nonexistent"\n{text}\n')
    code, _, err = run(["vm", "up", str(pool)], capsys)
    assert code == 2
    assert err.strip().startswith(f"harness vm: error: {pool}: {says}"), err


def test_vm_up_on_latin1_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pool = tmp_path / "pool.toml"
    pool.write_bytes('image = "/imágenes"\n'.encode("latin-1"))
    code, _, err = run(["vm", "up", str(pool)], capsys)
    assert code == 2 and "is not UTF-8 text (byte 0xe1 at offset 12)" in err


def test_writing_into_a_directory_named_as_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["debug", "bundle", str(tmp_path)], capsys)
    assert code == 2
    assert err.strip().startswith(f"harness debug: error: {tmp_path} is a directory; "), err
    assert len(err.strip().splitlines()) == 1
