"""The Linux stand-in's build: modules for the lab guest's kernel, the static hsprobectl, the
manifest, and the rule that both OSes run one hsprobe source. Loading and driving the modules
needs a guest: tests/integration (the stand-in guest) does that."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from harness.driver.artifact import DriverBuild, load_manifest
from harness.errors import InputError
from harness.sim.mutants import Mutant

from .conftest import DRIVERS, GOLDEN

KO = ("hsproxy.ko", "hsprobe.ko", "hsprobe2.ko")


def _release() -> str:
    return subprocess.run(
        [str(DRIVERS / "linux" / "kernel-release")], capture_output=True, text=True, check=True
    ).stdout.strip()


def _modinfo(path: Path, field: str) -> list[str]:
    out = subprocess.run(
        ["modinfo", "-F", field, str(path)], capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()


def test_manifest_names_the_kernel_and_every_artifact(linux_dist: Path) -> None:
    manifest = load_manifest(linux_dist / "manifest.json")
    release = _release()
    assert manifest.kernel == release
    assert {(a.name, a.version) for a in manifest.artifacts} == {
        ("hsproxy.ko", 0),
        ("hsprobe.ko", 1),
        ("hsprobe2.ko", 2),
        ("hsprobectl", 0),
    }
    for entry in manifest.artifacts:
        data = (linux_dist / entry.name).read_bytes()
        assert entry.sha256 == hashlib.sha256(data).hexdigest()
        assert entry.size == len(data)
        if entry.name.endswith(".ko"):
            assert entry.vermagic == _modinfo(linux_dist / entry.name, "vermagic")[0].strip()
            assert entry.vermagic and entry.vermagic.startswith(release + " ")


def test_modules_declare_their_parameters_and_dependency(linux_dist: Path) -> None:
    params = {line.split(":")[0] for line in _modinfo(linux_dist / "hsproxy.ko", "parm")}
    assert params == {"feature", "convention", "bugs", "drain_ms"}
    for name in ("hsprobe.ko", "hsprobe2.ko"):
        assert _modinfo(linux_dist / name, "depends") == ["hsproxy"]
        assert [p.split(":")[0] for p in _modinfo(linux_dist / name, "parm")] == ["crash"]


def test_the_named_bugs_are_simulator_mutants() -> None:
    # each bug= name must mean on the real kernel what the mutant means on the simulator
    source = (DRIVERS / "linux" / "hsproxy" / "main.c").read_text()
    names = set(re.findall(r'\[HS_BUG_\w+\] = "([a-z-]+)"', source))
    assert len(names) >= 6
    assert names <= {m.value for m in Mutant}


def test_both_images_and_both_oses_build_the_same_hsprobe_source(linux_dist: Path) -> None:
    shared = sorted(p.stem for p in (DRIVERS / "hsprobe").glob("*.c"))
    for module in ("hsprobe", "hsprobe2"):
        built = DRIVERS / "build" / "linux" / module
        objects = {p.stem for p in built.glob("*.o")} - {module, f"{module}.mod"}
        assert objects == {*shared, "module"}
        # links to the one source, never copies of it
        for name in shared:
            assert (built / f"{name}.c").resolve() == DRIVERS / "hsprobe" / f"{name}.c"
    windows = (DRIVERS / "Makefile").read_text()
    assert "HSP_SRC   = $(wildcard hsprobe/*.c)" in windows


_DEFINITION = re.compile(r"^\w[\w \*]*?\b(Hsp\w+)\([^;{]*\)\s*\{", re.M)


def test_no_function_of_the_shared_source_is_defined_again_in_an_os_layer() -> None:
    def defined(paths: list[Path]) -> set[str]:
        return {name for p in paths for name in _DEFINITION.findall(p.read_text())}

    shared = defined(sorted((DRIVERS / "hsprobe").glob("*.c")))
    layers = [
        DRIVERS / "hsprobe" / "windows" / "driver.c",
        DRIVERS / "linux" / "hsprobe" / "module.c",
    ]
    for layer in layers:
        assert not shared & defined([layer]), layer
    assert "HspRoutineBody" in shared and "HspControl" in shared


def test_kernel_check_refuses_modules_built_for_another_kernel(
    linux_dist: Path, dist: Path
) -> None:
    build = DriverBuild.load(linux_dist)
    assert build.linux and build.tool.name == "hsprobectl"
    assert build.image(0).name == "hsproxy.ko"
    build.check_kernel(_release())
    with pytest.raises(
        InputError,
        match=r"built for kernel 6\..*guest runs 5\.10\.0-9-amd64: "
        r"rebuild with `make -C drivers linux KRELEASE=",
    ):
        build.check_kernel("5.10.0-9-amd64")
    with pytest.raises(InputError, match="a Windows driver build cannot run on Linux"):
        DriverBuild.load(dist).check_kernel(_release())


def test_missing_kernel_headers_are_one_clear_error() -> None:
    proc = subprocess.run(
        ["make", "-C", str(DRIVERS / "linux"), "KRELEASE=9.9.9-none-amd64"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "no kernel headers for 9.9.9-none-amd64" in proc.stderr
    assert "run 'scripts/setup-host'" in proc.stderr


def test_a_module_built_for_another_release_is_refused(linux_dist: Path) -> None:
    # the check the build runs on each module before it goes to dist/linux
    check = DRIVERS / "linux" / "check-vermagic"
    module = linux_dist / "hsprobe.ko"
    assert subprocess.run([str(check), _release(), str(module)], check=False).returncode == 0
    proc = subprocess.run(
        [str(check), "6.1.0-0-other-amd64", str(module)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert f"hsprobe.ko: vermagic '{_release()} " in proc.stderr
    assert "is not the lab guest's kernel 6.1.0-0-other-amd64" in proc.stderr


def _ctl(linux_dist: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(linux_dist / "hsprobectl"), *args], capture_output=True, text=True, check=False
    )


def test_hsprobectl_is_static(linux_dist: Path) -> None:
    out = subprocess.run(
        ["file", str(linux_dist / "hsprobectl")], capture_output=True, text=True, check=True
    ).stdout
    assert "statically linked" in out


def test_hsprobectl_on_a_missing_device_says_what_to_load(linux_dist: Path) -> None:
    proc = _ctl(linux_dist, "query")
    assert proc.returncode == 3 and proc.stdout == ""
    assert "opening /dev/hsprobe failed (No such file or directory)" in proc.stderr
    assert "insmod hsproxy.ko, then hsprobe.ko" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("create", "--events", "sometimes"),
        ("swap", "--to", "3"),
        ("crash", "everything"),
        ("frobnicate",),
        (),
    ],
)
def test_hsprobectl_usage_errors_exit_2_before_touching_the_device(
    linux_dist: Path, args: tuple[str, ...]
) -> None:
    proc = _ctl(linux_dist, *args)
    assert proc.returncode == 2
    assert "usage: hsprobectl" in proc.stderr and "/dev/hsprobe" not in proc.stderr


def test_hsprobectl_converts_telemetry_as_the_windows_tool_does(linux_dist: Path) -> None:
    proc = _ctl(linux_dist, "convert", str(GOLDEN / "telemetry-v2.hspt"), "--scenario", "golden")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (GOLDEN / "telemetry-v2.jsonl").read_text()
