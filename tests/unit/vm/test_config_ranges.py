"""Every pool field is checked against its real range before anything reaches libvirt
(libvirtd aborted on `vcpus = -4`), and a pool config file that is not a readable UTF-8
TOML file gets a message saying what it is instead."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.vm.config import _FIXES, PoolConfig, load_pool_config, parse_pool_config, validated
from tests.unit.vm.conftest import make_testguest

# field -> (values that must be refused, values that must be accepted)
RANGES: dict[str, tuple[list[Any], list[Any]]] = {
    "vcpus": ([-4, 0, 256, 2**63, 1.5, "2", True], [1, 2, 255]),
    "memory_mib": ([-1, 0, 63, (1 << 20) + 1, 2**64, 256.0], [64, 256, 1 << 20]),
    "size": ([-1, 0, 65, 2**32], [1, 64]),
    "boot_timeout": ([0, -1, math.nan, math.inf, -math.inf, 86401, "10"], [0.5, 1, 86400]),
    "libvirt_timeout": ([0, -0.0, math.nan, math.inf, 1e300], [0.1, 30]),
    "name": (["", "has space", "a" * 21, "../x", "é", "a_b"], ["a", "A-1", "x" * 20]),
    "profile": (["", "../../etc/passwd", "a/b", "a b"], ["linux-testguest", "windows11"]),
    "boot_marker": (["", "(", "[a-", "x" * 201, "*"], ["READY$", r"^\w+ ok"]),
    "hv_vendor_id": (["", "x" * 13, "KVM KVM"], ["KVMKVMKVM", "Microsoft"]),
    "network": (["", "a" * 16, "a;b"], ["default", "hs-kdnet"]),
    "kdnet_network": (["", "a" * 16, "a/b"], ["hs-kdnet"]),
    "accel": (["hvf", "", 1], ["auto", "kvm", "tcg"]),
    "snapshot_path": (["fast", None], ["hmp", "libvirt"]),
    "gdbstub_at_start": ([1, "yes", None], [True, False]),
    "uri": (["", 5], ["qemu:///system", "qemu+unix:///system?socket=/tmp/s"]),
    "image": (["", None, 3], ["/i"]),
}


@pytest.mark.parametrize(
    ("field", "value"), [(f, v) for f, (bad, _) in RANGES.items() for v in bad]
)
def test_out_of_range_values_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_pool_config({"image": "/i", field: value}, "pool.toml")
    assert str(caught.value).startswith(f"pool.toml: field {field}: "), caught.value
    assert "fix: " in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"), [(f, v) for f, (_, good) in RANGES.items() for v in good]
)
def test_in_range_values_are_kept(field: str, value: Any) -> None:
    config = parse_pool_config({"image": "/i", field: value}, "pool.toml")
    assert getattr(config, field) == value


def test_every_field_has_a_range_test_and_a_fix() -> None:
    fields = set(PoolConfig.__struct_fields__)
    assert fields - {"state_dir", "template_dir", "backend"} <= set(RANGES)
    assert fields == set(_FIXES)


def test_a_config_built_in_code_is_checked_before_use() -> None:
    with pytest.raises(ConfigError, match="field vcpus"):
        validated(PoolConfig(image="/i", vcpus=-4))
    assert validated(PoolConfig(image="/i")) == PoolConfig(image="/i")


def test_data_that_is_not_a_table() -> None:
    with pytest.raises(ConfigError, match="must be a table"):
        parse_pool_config(["image"], "p")


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
near_range = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-300, 300),
    st.floats(allow_nan=True, allow_infinity=True),
)
fields = st.sampled_from([*sorted(PoolConfig.__struct_fields__), "bogus", "memory"])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(fields, anything | near_range, max_size=6))
def test_generated_configs_are_either_in_range_or_one_config_error(data: dict[str, Any]) -> None:
    data.setdefault("image", "/i")
    try:
        config = parse_pool_config(data, "gen.toml")
    except ConfigError as e:
        assert re.match(r"gen\.toml: (field \w+|unknown field \w+)", str(e)), e
        return
    # what reaches libvirt is in range
    assert 1 <= config.vcpus <= 255 and type(config.vcpus) is int
    assert 64 <= config.memory_mib <= 1 << 20
    assert 1 <= config.size <= 64
    for seconds in (config.boot_timeout, config.libvirt_timeout):
        assert math.isfinite(seconds) and 0 < seconds <= 86400
    re.compile(config.boot_marker)
    assert re.fullmatch(r"[A-Za-z0-9-]{1,20}", config.name)


@pytest.fixture
def image(open_dir: Path) -> str:
    return str(make_testguest(open_dir / "tg"))


def test_a_directory_fifo_or_device_as_config_says_what_it_is(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    for path, says in (
        (tmp_path, "is a directory"),
        (fifo, "is a named pipe"),
        (Path("/dev/null"), "is a character device"),
    ):
        with pytest.raises(ConfigError, match=f"^{path}: {says}"):
            load_pool_config(path)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("image = 'é'\n".encode("latin-1"), "is not UTF-8 text (byte 0xe9"),
        ("image = '/i'\n".encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
        (b"\x00\x01\x02", "not valid TOML"),
        (b"vm = 3\n", "must be a table"),
    ],
)
def test_text_that_is_not_utf8_toml(tmp_path: Path, raw: bytes, says: str) -> None:
    path = tmp_path / "pool.toml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_pool_config(path)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path, image: str) -> None:
    path = tmp_path / "pool.toml"
    path.write_bytes(b"\xef\xbb\xbf" + f'image = "{image}"\n'.encode())
    assert load_pool_config(path).image == image


def test_an_unknown_profile_is_named_before_the_image(tmp_path: Path) -> None:
    path = tmp_path / "pool.toml"
    path.write_text('image = "/nonexistent"\nprofile = "windows12"\n')
    with pytest.raises(
        ConfigError,
        match=r"field profile: unknown profile 'windows12'.*"
        r"known in .*linux-testguest",
    ):
        load_pool_config(path)


@pytest.mark.parametrize("profile", ["linux-testguest", "windows11"])
def test_an_image_of_the_wrong_kind_says_what_it_is(
    tmp_path: Path, open_dir: Path, profile: str
) -> None:
    fifo = open_dir / "fifo"
    os.mkfifo(fifo)
    wrong = open_dir if profile == "windows11" else fifo
    says = "is a directory" if profile == "windows11" else "is a named pipe"
    path = tmp_path / "pool.toml"
    path.write_text(f'image = "{wrong}"\nprofile = "{profile}"\n')
    with pytest.raises(ConfigError, match=f"field image: {wrong}:? {says}"):
        load_pool_config(path)


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -1.0, 0, 86401])
def test_every_wait_refuses_a_timeout_it_could_never_reach(seconds: float, tmp_path: Path) -> None:
    from harness.vm.console import ConsoleLog
    from harness.vm.lease import acquire

    with pytest.raises(ConfigError, match="use a finite number above 0"):
        ConsoleLog(tmp_path / "console.log", "hs-t-0").wait_for("READY", seconds)
    with pytest.raises(ConfigError, match="pool p: lease"):
        acquire(tmp_path, "p", 1, timeout=seconds)
    assert list(tmp_path.iterdir()) == []  # refused before taking anything


@pytest.mark.parametrize("port", [0, -1, 65536, 70000])
def test_a_gdbstub_port_out_of_range_is_refused_not_wrapped(port: int) -> None:
    from harness.vm.gdbstub import check_free

    with pytest.raises(ConfigError, match=f"gdbstub port {port} is out of range"):
        check_free(port)
