"""Debugger specs: the grammar round-trips any value, options are typed per backend, unknown
keys and bad values get one message naming the option, and secrets are never echoed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.debug import open_debugger
from harness.debug.gdbstub import GdbstubDebugger, GdbstubOptions
from harness.debug.pykd import PykdDebugger, PykdOptions, _validate
from harness.debug.spec import convert, split_spec
from harness.errors import ConfigError

DOCS = Path(__file__).resolve().parents[3] / "docs" / "debugging.md"
SECRET = "9z8y.7x6w.5v4u.3t2s"


def quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def test_golden() -> None:
    assert split_spec("gdbstub") == ("gdbstub", {})
    assert split_spec("gdbstub:") == ("gdbstub", {})
    assert split_spec("gdbstub:port=1234,host=::1") == ("gdbstub", {"port": "1234", "host": "::1"})
    assert split_spec('pykd:kd="net:port=50000,key=1.2.3.4",host=h') == (
        "pykd",
        {"kd": "net:port=50000,key=1.2.3.4", "host": "h"},
    )
    assert split_spec('x:a="say ""hi""",b=') == ("x", {"a": 'say "hi"', "b": ""})
    assert split_spec("x:module.hsprobe=0x1000@C:/a b/hsprobe.sys") == (
        "x",
        {"module.hsprobe": "0x1000@C:/a b/hsprobe.sys"},
    )


KEYS = st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,8}", fullmatch=True)


@given(st.dictionaries(KEYS, st.text(max_size=30), max_size=5), st.data())
def test_any_values_round_trip(options: dict[str, str], data: st.DataObject) -> None:
    parts = []
    for key, value in options.items():
        bare = "," not in value and '"' not in value and data.draw(st.booleans())
        parts.append(f"{key}={value if bare else quote(value)}")
    spec = "name:" + ",".join(parts) if parts else "name"
    assert split_spec(spec) == ("name", options)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (f"pykd:kd=net:port=1,key={SECRET},key=x", "given twice"),
        (f"pykd:kd={SECRET}", None),
        (f'pykd:kd="net:port=1,key={SECRET}', "unterminated quote"),
        (f'pykd:kd="{SECRET}"x', "text after the closing quote"),
        (f'pykd:kd=a"{SECRET}', "quote the whole value"),
        (f"pykd:{SECRET}", "expected KEY=VALUE"),
        ("pykd:a=1,", "trailing comma"),
        ("pykd:=1", "expected KEY=VALUE"),
    ],
)
def test_syntax_errors_name_the_problem_never_the_value(spec: str, match: str | None) -> None:
    if match is None:
        assert split_spec(spec)[1] == {"kd": SECRET}
        return
    with pytest.raises(ConfigError, match=match) as caught:
        split_spec(spec)
    assert SECRET not in str(caught.value)


def gdbstub(**options: str) -> GdbstubOptions:
    return convert(options, GdbstubOptions, "gdbstub")


def test_gdbstub_options_are_typed() -> None:
    opts = gdbstub(port="1234", timeout="2.5", hardware="no", build="26100", cid_offset="0x508")
    assert (opts.port, opts.timeout, opts.hardware, opts.build, opts.cid_offset) == (
        1234,
        2.5,
        False,
        26100,
        0x508,
    )
    assert gdbstub(port="1").host == "127.0.0.1"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": "1", "hardwre": "0"}, "unknown option 'hardwre'; did you mean hardware?"),
        (
            {"port": "1", "bogus": "0"},
            "known: build, cid_offset, connect_timeout, hardware, host, port, symbols, timeout",
        ),
        ({"port": "1", "timeout": "ten"}, "option timeout must be a number, not 'ten'"),
        ({"port": "1", "timeout": "nan"}, "option timeout: expected `float` > 0.0"),
        ({"port": "1", "timeout": "inf"}, "option timeout: expected `float` <= 86400.0"),
        ({"port": "1", "timeout": "-1"}, "option timeout: expected `float` > 0.0"),
        ({"port": "1", "timeout": "0"}, "option timeout: expected `float` > 0.0"),
        ({"port": "70000"}, "option port: expected `int` <= 65535"),
        ({"port": "0"}, "option port: expected `int` >= 1"),
        ({"port": "http"}, "option port must be an integer (0x... for hex), not 'http'"),
        ({"port": "1", "hardware": "maybe"}, "option hardware must be 1 or 0 (true/false)"),
        ({}, "option port is required"),
    ],
)
def test_gdbstub_bad_options_get_one_clear_message(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        gdbstub(**options)
    text = str(caught.value)
    assert text.startswith("gdbstub debugger: ") and message in text
    assert "\n" not in text


def test_module_options_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"module\.NAME=0xBASE@IMAGE"):
        GdbstubDebugger.from_options({"port": "1", "module.hsprobe": "0x1000"})
    with pytest.raises(ConfigError, match=r"module\.x must be an integer"):
        GdbstubDebugger.from_options({"port": "1", "module.x": "zz@a.sys"})


def pykd(spec: str) -> PykdOptions:
    name, options = split_spec(spec)
    assert name == "pykd"
    opts = convert(options, PykdOptions, "pykd", secret=frozenset({"kd"}))
    _validate(opts)
    return opts


def test_the_documented_pykd_example_parses_as_meant() -> None:
    [line] = [
        line for line in DOCS.read_text().splitlines() if "harness debug agent --spec" in line
    ]
    spec = re.search(r"--spec '([^']+)'", line)
    assert spec is not None
    opts = pykd(spec.group(1))
    assert opts.kd == "net:port=50000,key=1.2.3.4"
    assert opts.identity == "~/.ssh/lab" and opts.host == "dbghost"


@pytest.mark.parametrize(
    "spec",
    [
        # the SSH key= of old: now unknown, and the KDNET key that followed the comma with it
        f"pykd:host=h,user=u,key=k,known_hosts=f,kd=net:port=1,key={SECRET}",
        f"pykd:host=h,user=u,identity=k,known_hosts=f,kd=net:port=1,key={SECRET}",
    ],
)
def test_an_unquoted_kdnet_string_cannot_collide(spec: str) -> None:
    with pytest.raises(ConfigError, match=r"given twice|unknown option .key.") as caught:
        pykd(spec)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ('pykd:kd="net:port=50000"', "needs its key"),
        ("pykd:kd=net:port=50000", "needs its key"),
        ("pykd:engine=gdbstub,kd=localhost", "HOST:PORT"),
        (f'pykd:host=h,kd="net:port=1,key={SECRET}"', "needs user=..., identity=..., known_hosts"),
        (f'pykd:kd="net:port=1,key={SECRET}",timeout=soon', "option timeout must be a number"),
        (f'pykd:kd="net:port=1,key={SECRET}",engine=windbg', "must be one of pykd, pybag"),
    ],
)
def test_pykd_option_errors(spec: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as caught:
        pykd(spec)
    assert SECRET not in str(caught.value)


def test_a_bad_kd_value_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        convert({"kd": SECRET, "port": SECRET}, PykdOptions, "pykd", secret=frozenset({"kd"}))
    assert "option port" in str(caught.value)  # port is not secret: its value may be shown
    with pytest.raises(ConfigError, match="not its value"):
        convert({"kd": "x", "build": "y"}, _Secretive, "t", secret=frozenset({"build"}))


class _Secretive(PykdOptions, frozen=True, kw_only=True):
    pass


@pytest.mark.parametrize(
    "spec",
    [
        f"pykdd:kd=net:port=1,key={SECRET}",
        f'pykdd:kd="net:port=1,key={SECRET}"',
        f"{SECRET}:x=1",
        f"key={SECRET}",
    ],
)
def test_an_unknown_backend_never_echoes_the_spec(spec: str) -> None:
    with pytest.raises(ConfigError, match="unknown debugger") as caught:
        open_debugger(spec)
    assert SECRET not in str(caught.value)


def test_sim_takes_no_options() -> None:
    with pytest.raises(ConfigError, match="takes no options, got port"):
        open_debugger("sim:port=1")


def test_pykd_from_options_refuses_before_starting_anything() -> None:
    with pytest.raises(ConfigError, match="unknown option 'hardwre'"):
        PykdDebugger.from_options({"kd": "127.0.0.1:1", "hardwre": "1"})
