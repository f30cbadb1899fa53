"""Guest profiles: the command lines each runs, and the parsing of what Windows prints.

The Windows samples (samples/) are written from the formats Microsoft documents for
sc.exe, `ver` and certutil, with CRLF line ends as cmd.exe tools print them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.driver.commands import outcome
from harness.errors import InfrastructureError
from harness.guest.quoting import quote_line
from harness.guest.ssh import _SHA256, CommandResult
from harness.lab.config import LabConfig, parse_lab_config
from harness.lab.linux import LinuxProfile
from harness.lab.profile import make_profile
from harness.lab.tool import decode_info
from harness.lab.windows import (
    WindowsProfile,
    parse_sc_error,
    parse_sc_query,
    parse_ver,
)

SAMPLES = Path(__file__).parent / "samples"


def _no_run(argv: tuple[str, ...]) -> CommandResult:
    raise AssertionError(f"no command expected, got {argv}")


def _sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode()


def _config(labdir: Path, profile: str, **driver: object) -> LabConfig:
    data = {
        "profile": profile,
        "pool": {"image": str(labdir / "image"), "name": "t"},
        "ssh": {"key": "client_key", "host_key": "host_key.pub"},
        "driver": {"dist": "dist", **driver},
    }
    return parse_lab_config(data, "lab.toml", labdir)


def test_windows_load_creates_both_services_and_starts_only_version_1(labdir: Path) -> None:
    profile = make_profile(_config(labdir, "windows"))
    assert isinstance(profile, WindowsProfile)
    lines = [quote_line(step.argv, profile.shell) for step in profile.load(profile_driver(labdir))]
    # cmd.exe: the program in plain double quotes, each argument for CommandLineToArgvW
    assert lines == [
        '"sc.exe" stop hsprobe2',
        '"sc.exe" stop hsprobe',
        '"sc.exe" delete hsprobe2',
        '"sc.exe" delete hsprobe',
        '"sc.exe" create hsprobe type= kernel start= demand binPath= C:\\hsp\\hsprobe.sys',
        '"sc.exe" create hsprobe2 type= kernel start= demand binPath= C:\\hsp\\hsprobe2.sys',
        '"sc.exe" start hsprobe',
        '"sc.exe" query hsprobe',
    ]
    assert profile.tool == "C:\\hsp\\hsprobectl.exe"


def profile_driver(labdir: Path) -> object:
    return _config(labdir, "windows").driver


def test_windows_paths_with_spaces_and_metacharacters_are_quoted_for_cmd(labdir: Path) -> None:
    profile = make_profile(_config(labdir, "windows", guest_dir="C:\\Program Files\\hs(p)"))
    create = next(s for s in profile.load(profile_driver(labdir)) if s.argv[1] == "create")
    line = quote_line(create.argv, "cmd")
    assert line.endswith('binPath= ^"C:\\Program Files\\hs^(p^)\\hsprobe.sys^"'), line
    argv, remote = profile.raw_trace(7)
    assert remote == "C:\\Program Files\\hs(p)\\trace.hspt"
    assert quote_line(argv, "cmd").startswith(
        '"C:\\Program Files\\hs(p)\\hsprobectl.exe" trace --from 7 --raw'
    )


def test_windows_powershell_shell_quotes_literally(labdir: Path) -> None:
    config = _config(labdir, "windows")
    profile = make_profile(config)
    step = profile.load(config.driver)[4]
    assert quote_line(step.argv, "powershell") == (
        "& 'sc.exe' 'create' 'hsprobe' 'type=' 'kernel' 'start=' 'demand' 'binPath=' "
        "'C:\\hsp\\hsprobe.sys'"
    )


def test_sc_query_running_and_stopped() -> None:
    running = parse_sc_query(_sample("sc_query_running.txt"))
    assert running is not None and running.running
    assert (running.name, running.type, running.state_name) == ("hsprobe", 1, "RUNNING")
    stopped = parse_sc_query(_sample("sc_query_stopped.txt"))
    assert stopped is not None and not stopped.running
    assert (stopped.state, stopped.win32_exit_code) == (1, 1077)
    assert parse_sc_query(_sample("sc_query_1060.txt")) is None


@pytest.mark.parametrize(
    ("sample", "operation", "code", "hint"),
    [
        ("sc_start_577.txt", "StartService", 577, "test signing"),
        ("sc_create_1073.txt", "CreateService", 1073, "exists"),
        ("sc_delete_1072.txt", "DeleteService", 1072, "revert the guest"),
        ("sc_query_1060.txt", "EnumQueryServicesStatus:OpenService", 1060, "not installed"),
        ("sc_stop_1062.txt", "ControlService", 1062, "has not been started"),
    ],
)
def test_sc_failures(sample: str, operation: str, code: int, hint: str) -> None:
    error = parse_sc_error(_sample(sample))
    assert error is not None
    assert (error.operation, error.code) == (operation, code)
    assert hint in error.explain()
    assert "\r" not in error.message


def test_sc_success_is_no_error() -> None:
    assert parse_sc_error(_sample("sc_create_success.txt")) is None
    assert parse_sc_error(_sample("sc_start_running.txt")) is None


def test_windows_check_reads_sc_output(labdir: Path) -> None:
    config = _config(labdir, "windows")
    profile = make_profile(config)
    steps = {s.what: s for s in profile.load(config.driver)}
    start, query = steps["start service hsprobe (version 1)"], steps["query service hsprobe"]
    assert profile.check(start, 0, _sample("sc_start_running.txt"), "", _no_run) is None
    why = profile.check(start, 577, _sample("sc_start_577.txt"), "", _no_run)
    assert why is not None and "Win32 error 577" in why and "testsigning" in why
    assert profile.check(query, 0, _sample("sc_query_running.txt"), "", _no_run) is None
    why = profile.check(query, 0, _sample("sc_query_stopped.txt"), "", _no_run)
    assert why is not None and "STOPPED" in why and "1077" in why


def test_windows_build_from_ver() -> None:
    assert parse_ver(_sample("ver.txt")) == "26100.2033"
    assert parse_ver("Microsoft Windows [Version 10.0.22631]") == "22631"
    assert parse_ver("garbage") == "unknown"


def test_hsprobectl_exe_answers_decode() -> None:
    info = decode_info(_sample("hsprobectl_query.json").encode())
    assert (info.image_version, info.loaded_versions, info.next_seq) == (1, (1,), 2)
    assert info.enabled and info.extension_status == 0
    created = outcome(_sample("hsprobectl_create.json").encode())
    assert (created.status, created.worker) == (0, 3)
    with pytest.raises(InfrastructureError, match="answered something else"):
        decode_info(_sample("hsprobectl_unavailable.txt").encode())


def test_certutil_hash_is_found() -> None:
    found = _SHA256.search(_sample("certutil_hashfile.txt"))
    assert found is not None and found[1].startswith("3f1c5c2b")


def test_linux_load_passes_hsproxy_parameters(labdir: Path) -> None:
    config = _config(
        labdir,
        "linux",
        feature="blocked",
        kernel_convention="inverted",
        bugs=["lost-wakeup", "no-drain"],
    )
    profile = make_profile(config)
    assert isinstance(profile, LinuxProfile)
    lines = [quote_line(s.argv, "sh") for s in profile.load(config.driver)]
    assert lines == [
        "insmod /lib/hsprobe/hsproxy.ko feature=blocked convention=inverted "
        "bugs=lost-wakeup,no-drain",
        "insmod /lib/hsprobe/hsprobe.ko",
    ]
    assert [s.argv for s in profile.remove()] == [
        ("rmmod", "hsprobe2"),
        ("rmmod", "hsprobe"),
        ("rmmod", "hsproxy"),
    ]
    assert all(s.optional for s in profile.remove())
    argv, remote = profile.raw_trace(12)
    assert argv == (
        "env",
        "HSPROBE_MODULES=/lib/hsprobe",
        "/lib/hsprobe/hsprobectl",
        "trace",
        "--from",
        "12",
        "--raw",
        "/proc/self/fd/1",
    )
    assert remote is None


def test_linux_bug_names_cannot_inject(labdir: Path) -> None:
    config = _config(labdir, "linux", bugs=["x y"])
    with pytest.raises(ValueError, match="bug name"):
        make_profile(config).load(config.driver)


def test_linux_check_explains_wrong_kernel_from_the_kernel_log(labdir: Path) -> None:
    config = _config(labdir, "linux")
    profile = make_profile(config)
    step = profile.load(config.driver)[0]
    asked: list[tuple[str, ...]] = []

    def dmesg(argv: tuple[str, ...]) -> CommandResult:
        asked.append(argv)
        return CommandResult(
            0, b"[ 3.1] hsproxy: version magic '6.1.0-9 SMP' should be '6.1.0-28 SMP'\n", b""
        )

    why = profile.check(
        step,
        1,
        "",
        "insmod: ERROR: could not insert module /lib/hsprobe/hsproxy.ko: Invalid module format\n",
        dmesg,
    )
    assert why is not None and re.search(r"built for another kernel", why)
    assert "version magic '6.1.0-9 SMP'" in why and asked == [("dmesg",)]
    assert profile.check(step, 0, "", "", _no_run) is None
    assert (
        profile.parse_build("6.1.0-28-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian\n")
        == "6.1.0-28-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian"
    )


def test_install_paths(labdir: Path) -> None:
    windows = make_profile(_config(labdir, "windows"))
    assert windows.sftp_path(windows.files["hsprobe.sys"]) == "C:/hsp/hsprobe.sys"
    assert quote_line(windows.mkdir().argv, "cmd") == '"cmd" /c mkdir C:\\hsp'
    linux = make_profile(_config(labdir, "linux"))
    assert linux.mkdir().argv == ("mkdir", "-p", "/lib/hsprobe") and linux.mkdir().optional
    assert linux.sftp_path("/lib/hsprobe/hsprobe.ko") == "/lib/hsprobe/hsprobe.ko"


def test_only_linux_has_a_resident_hsprobectl(labdir: Path) -> None:
    linux = make_profile(_config(labdir, "linux"))
    step = linux.serve("org.hotswap.probe.0")
    assert step is not None and step.argv[:2] == ("sh", "-c") and not step.optional
    started = "env HSPROBE_MODULES=/lib/hsprobe /lib/hsprobe/hsprobectl serve org.hotswap.probe.0"
    script = step.argv[2]
    # started once per boot: a running one (its pid in /run) is left alone
    assert script.startswith('pid=$(cat /run/hsprobectl-serve.pid 2>/dev/null) && kill -0 "$pid"')
    assert f"|| {{ {started} </dev/null" in script
    assert make_profile(_config(labdir, "windows")).serve("org.hotswap.probe.0") is None
